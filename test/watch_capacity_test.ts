/**
 * The kernel's watch maps are preallocated whole, in kernel memory, so they are
 * sized to what the watch set can become: a set of files alone gets a small map,
 * and a file replaced over and over leaves it as its successor enters it, so it
 * never fills. Real BPF, real processes renaming over the file. Needs root.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, tempDir, waitFor } from "./helpers.ts";

const pulled = (agent: Agent, name: string) =>
  agent.metrics.get(name)?.collect()[0]?.value ?? Number.NaN;

Deno.test("a file watched alone keeps its place in a small kernel map, however often it is replaced", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/resolv.conf`;
  await Deno.writeTextFile(f, "nameserver 10.0.0.1\n");
  const out = new CaptureOutput();
  // fanotify off: the kernel object alone sees the file live.
  const agent = await Agent.start({
    watches: watchesForPaths([f]),
    outputs: [out],
    fanotify: false,
  });
  try {
    const capacity = pulled(agent, "bpfink_kernel_watch_capacity");
    assertEquals(capacity, 1024, "a file alone got the map a growing tree gets");
    // More replacements than the map holds (as a DHCP client rewrites resolv.conf), each a
    // new inode that the agent re-reads, and so enters in the map, before the next: had any
    // old inode stayed, the map would be full. Each old one is held open, so that its
    // number is not used again. 5 ms apart: a path changed again sooner than its last
    // re-read waited is hot, and waits longer (up to 250 ms), by design.
    const replacements = capacity + 64;
    const py = new Deno.Command("python3", {
      args: [
        "-c",
        "import os,sys,time,resource\nresource.setrlimit(resource.RLIMIT_NOFILE,(4096,4096))\n" +
        "p=sys.argv[1]\nkeep=[]\nfor i in range(int(sys.argv[2])):\n" +
        "  keep.append(os.open(p,os.O_RDONLY))\n  t=p+'.tmp'\n  open(t,'w').write('nameserver 10.0.0.%d\\n'%(i%250+1))\n" +
        "  time.sleep(0.005)\n  os.rename(t,p)\n  print(os.stat(p).st_ino,flush=True)\n  sys.stdin.readline()\n",
        f,
        String(replacements),
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const stdin = py.stdin.getWriter();
    const lines = py.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (let i = 0; i < replacements; i++) {
      while (!buf.includes("\n")) buf += (await lines.read()).value ?? "\n";
      const ino = buf.slice(0, buf.indexOf("\n"));
      buf = buf.slice(buf.indexOf("\n") + 1);
      assert(
        await waitFor(() => out.changes(f).some((e) => e.file?.inode === ino), 5_000),
        `replacement ${i} (inode ${ino}) was not reported`,
      );
      await stdin.write(new Uint8Array([10]));
    }
    await stdin.close();
    assert((await py.status).success, "the replacing process failed");
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(pulled(agent, "bpfink_watch_not_in_kernel_total"), 0, "the map filled up");
    // After them, a write by another process is still seen by the kernel object, live.
    const writer = new Deno.Command("sh", { args: ["-c", `echo search lan >> "${f}"; echo $$`] })
      .outputSync();
    const pid = Number(new TextDecoder().decode(writer.stdout).trim());
    assert(
      await waitFor(() => out.changes(f).some((e) => e.process?.pid === pid), 5_000),
      "a write after the replacements was not credited to its writer",
    );
  } finally {
    await agent.stop();
  }
});

/**
 * The watch budget against a hostile user: a user who can write in a watched
 * tree makes entries without end, and must not crowd root's files out of the
 * kernel's watch map (src/watch/owner_budget.ts).
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, metricValue, run, tempDir, waitFor } from "./helpers.ts";
import { runAsNobody } from "./faults/fault_helpers.ts";

/** nobody:nogroup, as runAsNobody runs. */
const NOBODY = 65534;

Deno.test("a user filling a watched directory cannot crowd root's new file out of the kernel's watch map", async () => {
  await using dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  const home = `${dir.path}/home`;
  await Deno.mkdir(home);
  await Deno.chown(home, NOBODY, NOBODY);
  const out = new CaptureOutput();
  // A small map (256 inodes): each user other than root may add 32 entries, all of them 64.
  // BPF hooks alone, so that a write is seen only if its inode is in the map.
  const agent = await Agent.start({
    watches: watchesForPaths([dir.path], true),
    outputs: [out],
    maxWatches: 256,
    fanotify: false,
  });
  try {
    // The user makes more entries than the whole map holds.
    const flood = await runAsNobody([
      "sh",
      "-c",
      'for i in $(seq 400); do : > "$1/f$i"; done',
      "sh",
      home,
    ]);
    assertEquals(flood.code, 0, flood.out);
    assert(
      await waitFor(() => metricValue(agent, "bpfink_watch_refused_entries") === 400 - 32, 10_000),
      `refused: ${metricValue(agent, "bpfink_watch_refused_entries")}, wanted ${400 - 32}`,
    );
    await agent.idle();
    const made = out.changes().filter((e) =>
      e.event.action === "created" && e.file?.path?.startsWith(`${home}/`)
    );
    assertEquals(made.length, 32, "the user's entries within its share are reported");
    // Root makes a file there (a new inode for the map), then a process appends to it.
    const made2 = `${dir.path}/sudoers-new.conf`;
    await Deno.writeTextFile(made2, "# new\n");
    assert(
      await waitFor(() => out.changes(made2).some((e) => e.event.action === "created")),
      "root's new file was not reported",
    );
    await agent.idle();
    // No O_CREAT: only the fd → inode match can see this write.
    const py = "import os,sys\nfd=os.open(sys.argv[1],os.O_WRONLY|os.O_APPEND)\n" +
      "os.write(fd,b'evil ALL=(ALL) NOPASSWD: ALL\\n')\n";
    const w = await run(["python3", "-c", py, made2]);
    assertEquals(w.code, 0, w.stderr);
    assert(
      await waitFor(() =>
        out.changes(made2).some((e) => e.event.action === "modified" && e.process?.pid === w.pid)
      ),
      `the append to root's new file was missed: ${
        JSON.stringify(out.changes(made2).map((e) => [e.event.action, e.process?.pid]))
      }; inodes left out of the kernel map: ${agent.watch.notInKernel}`,
    );
    // Once the user removes its entries, the ones refused are watched at the next listing.
    const rm = await runAsNobody(["sh", "-c", 'rm -f "$1"/f*; : > "$1/after"', "sh", home]);
    assertEquals(rm.code, 0, rm.out);
    assert(
      await waitFor(() => out.changes(`${home}/after`).some((e) => e.event.action === "created")),
      "a new entry after the user's others were removed was not watched",
    );
    assertEquals(metricValue(agent, "bpfink_watch_refused_entries"), 0);
  } finally {
    await agent.stop();
  }
});

Deno.test("with an include glob, a user's directories that no glob can reach are neither walked nor watched", async () => {
  await using dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  const home = `${dir.path}/alice`;
  await Deno.mkdir(`${home}/node_modules/a/b`, { recursive: true });
  await Deno.writeTextFile(`${home}/node_modules/a/b/authorized_keys`, "not a key file\n");
  await Deno.chown(home, NOBODY, NOBODY);
  const out = new CaptureOutput();
  const [w] = watchesForPaths([dir.path], true);
  const agent = await Agent.start({
    watches: [{ ...w, include: ["*/.ssh/authorized_keys"] }],
    outputs: [out],
  });
  try {
    const watched = () => agent.watch.entries().map((e) => e.path.slice(dir.path.length)).sort();
    assertEquals(watched(), ["", "/alice"]);
    const user = await runAsNobody([
      "sh",
      "-c",
      'cd "$1" && for i in $(seq 50); do mkdir -p "build/d$i"; done && mkdir .ssh && echo "ssh-ed25519 AAAA k" > .ssh/authorized_keys',
      "sh",
      home,
    ]);
    assertEquals(user.code, 0, user.out);
    const keys = `${home}/.ssh/authorized_keys`;
    assert(
      await waitFor(() => out.changes(keys).some((e) => e.event.action === "created")),
      `the new key file was not reported: ${JSON.stringify(watched())}`,
    );
    await agent.idle();
    assertEquals(watched(), ["", "/alice", "/alice/.ssh", "/alice/.ssh/authorized_keys"]);
  } finally {
    await agent.stop();
  }
});

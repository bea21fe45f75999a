/**
 * Attribution that survives folding, end to end: every process that wrote a
 * watched file is in the report, and a mapping inherited by a forked child is
 * followed after its maker exits. Each beside a control.
 */
import { assert, assertEquals } from "./assert.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { sha256File } from "../src/watch/file_state.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";

/** Every process id an event names: its cause and the other writers folded into it. */
function writersOf(out: CaptureOutput, path: string): Set<number> {
  const pids = new Set<number>();
  for (const e of out.changes(path)) {
    if (e.process) pids.add(e.process.pid);
    const others = (e.bpfink?.other_writers ?? []) as { pid: number }[];
    for (const w of others) pids.add(w.pid);
  }
  return pids;
}

Deno.test("two processes writing one file inside one fold are both reported", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/shared.conf`;
  await Deno.writeTextFile(f, "base\n");
  const out = new CaptureOutput();
  // A long settle window folds both writes into one re-read. The first writer keeps its fd
  // open until the second has written: a writer's close ends the settle (FileMonitor.writerClosed),
  // and two writers that each closed at once would be two re-reads, not one fold.
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out], settleMs: 400 });
  try {
    const first = new Deno.Command("python3", {
      args: [
        "-c",
        "import os,sys,time\nfd=os.open(sys.argv[1],os.O_WRONLY|os.O_APPEND)\n" +
        "os.write(fd,b'benign\\n')\nprint(os.getpid(),flush=True)\ntime.sleep(0.5)\nos.close(fd)\n",
        f,
      ],
      stdout: "piped",
    }).spawn();
    const reader = first.stdout.getReader();
    const line = new TextDecoder().decode((await reader.read()).value);
    reader.releaseLock();
    const b = await run(["sh", "-c", 'echo attacker >> "$1"', "sh", f]);
    const done = await first.output();
    const a = { pid: Number(line.trim()), code: done.code };
    assertEquals([a.code, b.code], [0, 0]);
    assert(
      await waitFor(() => writersOf(out, f).has(a.pid) && writersOf(out, f).has(b.pid)),
      `writers reported: ${[...writersOf(out, f)]}, wanted ${a.pid} and ${b.pid}`,
    );
  } finally {
    await agent.stop();
  }
});

/** Python: map `F` shared and writable, then write `what` into it after a delay, in a
 * child forked after the mmap (`fork`) or in the mapper itself. The parent's
 * stdout closes at once, so run() returns while the writer still works. The
 * writer leaves its pid in `F.pid`. */
const mapWriter = (fork: boolean, what: string) =>
  "import os,sys,mmap,time\n" +
  "fd=os.open(sys.argv[1],os.O_RDWR)\n" +
  "m=mmap.mmap(fd,0,mmap.MAP_SHARED,mmap.PROT_READ|mmap.PROT_WRITE)\n" +
  (fork ? "if os.fork(): os._exit(0)\n" : "") +
  "open(sys.argv[1]+'.pid','w').write(str(os.getpid()))\n" +
  "os.close(1); os.close(2)\n" +
  `time.sleep(0.7); m[0:${what.length}]=b'${what}'\n` +
  "time.sleep(1.5)\n";

Deno.test("a write through a mapping inherited by a child forked after the mmap is seen, and names the child", async () => {
  await using dir = await tempDir();
  const files = [`${dir.path}/own.conf`, `${dir.path}/forked.conf`];
  for (const f of files) await Deno.writeTextFile(f, "original content\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths(files), outputs: [out] });
  try {
    // The control: the mapper writes itself. Then: a child writes after its parent exited.
    for (const [i, f] of files.entries()) {
      const r = await run(["python3", "-c", mapWriter(i === 1, "CHANGED"), f]);
      assertEquals(r.code, 0, r.stderr);
    }
    await new Promise((r) => setTimeout(r, 1000)); // both writers have written by now
    for (const f of files) {
      const want = (await sha256File(f)).sha256;
      assert((await Deno.readTextFile(f)).startsWith("CHANGED"), `${f}: the writer did not write`);
      const seen = (e: ChangeEvent) =>
        e.event.action === "modified" && e.file?.hash?.sha256 === want;
      assert(
        await waitFor(() => out.changes(f).some(seen)),
        `${f}: the write through the mapping was missed`,
      );
      // The writer is named: the mapper itself, or the child (its parent had exited).
      const writer = Number(await Deno.readTextFile(`${f}.pid`));
      assertEquals(
        out.changes(f).find(seen)?.process?.pid,
        writer,
        `${f}: the writer is not named`,
      );
    }
  } finally {
    await agent.stop();
  }
});

Deno.test("a write through a live mapping found by a re-read of another cause names the mapper", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/mapped.conf`;
  await Deno.writeTextFile(f, "original content\n");
  const out = new CaptureOutput();
  // The mapping's own poll never comes: only the periodic re-read, which has no
  // kernel event, can find the write (as a mount's re-resolve or a rescan after drops).
  const agent = await Agent.start({
    watches: watchesForPaths([f]),
    outputs: [out],
    mappedPollMs: 600_000,
    reconcileIntervalMs: 300,
  });
  try {
    const r = await run(["python3", "-c", mapWriter(false, "CHANGED"), f]);
    assertEquals(r.code, 0, r.stderr);
    await new Promise((r) => setTimeout(r, 1000));
    assert((await Deno.readTextFile(f)).startsWith("CHANGED"), "the writer did not write");
    const want = (await sha256File(f)).sha256;
    const seen = (e: ChangeEvent) => e.event.action === "modified" && e.file?.hash?.sha256 === want;
    assert(
      await waitFor(() => out.changes(f).some(seen)),
      "the write through the mapping was missed",
    );
    assertEquals(
      out.changes(f).find(seen)?.process?.pid,
      Number(await Deno.readTextFile(`${f}.pid`)),
      "the mapper is not named",
    );
  } finally {
    await agent.stop();
  }
});

Deno.test("a writer whose append lands while another writer's change is read is named", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/big.conf`;
  // Large, so that reading it takes tens of milliseconds: the second append lands
  // during the read that the first writer's close started, ahead of the read's cursor.
  await Deno.writeFile(f, new Uint8Array(96 << 20).fill(0x61));
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    const py = "import os,sys,time\n" +
      "p=sys.argv[1]\n" +
      "r,w=os.pipe()\n" +
      "child=os.fork()\n" +
      "if child==0:\n" +
      "  os.read(r,1); time.sleep(0.01)\n" +
      "  fd=os.open(p,os.O_WRONLY|os.O_APPEND); os.write(fd,b'second\\n'); os.close(fd); os._exit(0)\n" +
      "fd=os.open(p,os.O_WRONLY|os.O_APPEND); os.write(fd,b'first\\n'); os.close(fd)\n" +
      "os.write(w,b'x')\n" +
      "print(os.getpid(),child,flush=True)\n" +
      "os.waitpid(child,0)\n";
    const r = await run(["python3", "-c", py, f]);
    assertEquals(r.code, 0, r.stderr);
    const [first, second] = r.stdout.trim().split(" ").map(Number);
    const want = (await sha256File(f)).sha256;
    assert(
      await waitFor(() => out.changes(f).some((e) => e.file?.hash?.sha256 === want), 5000),
      "the final content was never reported",
    );
    assert(
      await waitFor(() => writersOf(out, f).has(first) && writersOf(out, f).has(second), 3000),
      `writers reported: ${[...writersOf(out, f)]}, wanted ${first} and ${second}`,
    );
  } finally {
    await agent.stop();
  }
});

Deno.test("a write racing the first read of a replaced file is in the report", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/big.conf`;
  await Deno.writeTextFile(f, "small original\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    // The replacement is large, so its first hash takes a while; 40 ms after the
    // rename a writer changes its first bytes, which that hash has already passed.
    const py = "import os,sys,time\n" +
      "p=sys.argv[1]; t=p+'.new'\n" +
      "with open(t,'wb') as o:\n" +
      "  o.write(b'\\0'*(96<<20))\n" +
      "os.rename(t,p)\n" +
      "time.sleep(0.04)\n" +
      "fd=os.open(p,os.O_WRONLY); os.pwrite(fd,b'RACED',0)\n";
    const r = await run(["python3", "-c", py, f]);
    assertEquals(r.code, 0, r.stderr);
    const want = (await sha256File(f)).sha256;
    assert(
      await waitFor(() => out.changes(f).some((e) => e.file?.hash?.sha256 === want), 5000),
      `the final content was never reported: ${
        JSON.stringify(out.changes(f).map((e) => [e.event.action, e.file?.hash?.sha256]))
      }`,
    );
  } finally {
    await agent.stop();
  }
});

// Two files are read on the main thread, which puts each inode in the kernel map before its read
// (EarlyWatch); 2,100 by the hashing workers (parallel_reader.ts), which mark each for fanotify
// through the fd they read it by, before reading it. The writer is another process, as a real one
// is: fanotify leaves out the agent's own.
for (const count of [2, 2100]) {
  Deno.test(`at startup, a write between a file's first read and its watch is reported (${count} files)`, async () => {
    await using dir = await tempDir();
    const files = Array.from({ length: count }, (_, i) => `${dir.path}/f${i}.conf`);
    for (const f of files) await Deno.writeTextFile(f, "before start\n");
    const out = new CaptureOutput();
    let wrote = false;
    const agent = await Agent.start({
      watches: watchesForPaths(files),
      outputs: [out],
      // Called for each file after its first read, before the watch set records it:
      // the worst moment for a write.
      onProgress: (done) => {
        if (done === 0 && !wrote) {
          wrote = true;
          // No O_CREAT (its name match would hide the gap): only the inode can tell.
          const w = new Deno.Command("sh", {
            args: [
              "-c",
              'printf "written during the baseline\\n" | ' +
              'dd of="$1" oflag=append conv=notrunc,nocreat status=none',
              "sh",
              files[0],
            ],
          }).outputSync();
          assert(w.success, new TextDecoder().decode(w.stderr));
        }
      },
    });
    try {
      assert(wrote, "the baseline never reported progress");
      assertEquals(
        agent.startRead?.workers ? "workers" : "main",
        count > 2000 ? "workers" : "main",
      );
      const want = (await sha256File(files[0])).sha256;
      assert(
        await waitFor(() =>
          out.changes(files[0]).some((e) =>
            e.event.action === "modified" && e.file?.hash?.sha256 === want
          )
        ),
        "the write during the baseline was lost",
      );
      // The control: the other file, untouched, is not reported.
      assertEquals(out.changes(files[1]), []);
    } finally {
      await agent.stop();
    }
  });
}

Deno.test("under the mark gate, a file removed and made again with the same inode number is still caught by the BPF hooks", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/reborn.conf`;
  await Deno.writeTextFile(f, "first\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([dir.path]), outputs: [out] });
  try {
    assert(agent.kernel.gate.on, "the mark gate is off: this test would not test it");
    // ext4 hands a freed inode number to the next file made in the same group, most times.
    let reborn = false;
    for (let i = 0; i < 20 && !reborn; i++) {
      const before = (await Deno.stat(f)).ino;
      const r = await run(["sh", "-c", 'rm -- "$1" && echo "again" > "$1"', "sh", f]);
      assertEquals(r.code, 0, r.stderr);
      reborn = (await Deno.stat(f)).ino === before;
      assert(
        await waitFor(() => out.changes(f).some((e) => e.process?.pid === r.pid)),
        `remake ${i} by ${r.pid} missed: ${
          JSON.stringify(out.changes(f).map((e) => [e.event.action, e.process?.pid]))
        }`,
      );
    }
    assert(reborn, "the file system never reused the inode number: nothing was tested");
    const w = await run(["sh", "-c", 'echo attacker >> "$1"', "sh", f]);
    assertEquals(w.code, 0, w.stderr);
    assert(
      await waitFor(() =>
        out.changes(f).some((e) => e.process?.pid === w.pid && e.event.reason === "live")
      ),
      `the write to the remade file was not caught live by the BPF hooks: ${
        JSON.stringify(out.changes(f).map((e) => [e.event.action, e.event.reason, e.process?.pid]))
      }`,
    );
    assert(agent.kernel.gate.on, "the gate turned off");
  } finally {
    await agent.stop();
  }
});

Deno.test("a start marks every inode before the kernel map names it: the mark gate never closes", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/sub`);
  for (let i = 0; i < 300; i++) {
    await Deno.writeTextFile(`${dir.path}/${i % 2 ? "sub/" : ""}f${i}.conf`, `v${i}\n`);
  }
  await Deno.symlink("f0.conf", `${dir.path}/link`);
  const agent = await Agent.start({
    watches: watchesForPaths([dir.path], true),
    outputs: [new CaptureOutput()],
  });
  try {
    // Each inode entered the map with its mark already on it, the first read's included: the
    // gate had nothing to wait for. An inode let in unmarked turns it off until its mark.
    assertEquals(agent.kernel.gate.closings, 0, "the gate closed during the start");
    assert(agent.kernel.gate.on, "the gate is off after the start");
  } finally {
    await agent.stop();
  }
});

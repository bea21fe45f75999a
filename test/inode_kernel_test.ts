/**
 * The kernel object's own behaviour, event by event, on this kernel's chosen
 * strategy: folding keeps every writer and every kind of operation, a full
 * pending map is a drop, 32-bit syscalls and AT_EMPTY_PATH forms are seen,
 * and events carry the process start time /proc agrees with. Each case runs
 * real programs beside a control that the same harness catches.
 */
import { assert, assertEquals } from "./assert.ts";
import { EMBEDDED_OBJECTS } from "../kernels/build/embedded.ts";
import { loadLibbpf } from "../src/agent/open_kernel.ts";
import { type FimEvent, FimOp, ringRecordBytes } from "../src/kernel/fim_event.ts";
import { pathBytes } from "../src/watch/path_bytes.ts";
import type { FimKernel } from "../src/kernel/fim_kernel.ts";
import { readKernelFacts } from "../src/kernel/kernel_facts.ts";
import { chooseStrategy } from "../src/kernel/strategy_choice.ts";
import { sameProcess, startTicksOf } from "../src/watch/process_details.ts";
import { type InodeId, inodeKeyString } from "../src/watch/inode_key.ts";
import { kernelIdentity } from "../src/kernel/kernel_identity.ts";
import { DirKeys, nameHash } from "../src/watch/kernel_keys.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { LoopTurns } from "./loop_turns.ts";
import { buildProgram } from "./inode/fixtures.ts";
import { eventFromProc } from "../src/watch/proc_event.ts";
import { FimWatch } from "../src/kernel/fim_event.ts";
import { FanotifyGroup } from "../src/fanotify/fanotify_group.ts";
import { FILE_MASK } from "../src/fanotify/fanotify_abi.ts";

interface Harness {
  k: FimKernel;
  events: FimEvent[];
  dir: string;
  /** Creates and watches a file; returns its path and identity. */
  file(name: string): Promise<{ path: string; id: InodeId }>;
  /** Events about inode `id`. */
  about(id: InodeId): FimEvent[];
  /** Whether process `pid` was seen creating `name` (a name event). */
  created(name: string, pid: number): boolean;
  /** Runs shell `script` with `$1` the path of `name` in the test's directory; its pid. */
  inDir(script: string, name: string): Promise<number>;
}

async function withKernel(
  opts: {
    pendingEntries?: number;
    ringBytes?: number;
    ringQueueBytes?: number;
    maxWatches?: number;
    /** Runs after each event is kept (a slow handler's work). */
    each?: (e: FimEvent) => void;
  },
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  const events: FimEvent[] = [];
  const choice = await chooseStrategy(loadLibbpf(), readKernelFacts(), {
    objects: EMBEDDED_OBJECTS,
    onEvent: (e) => {
      events.push(e);
      opts.each?.(e);
    },
    pendingEntries: opts.pendingEntries,
    ringBytes: opts.ringBytes,
    ringQueueBytes: opts.ringQueueBytes,
    maxWatches: opts.maxWatches,
  });
  const k = choice.kernel;
  assert(k, `no strategy works here: ${JSON.stringify(choice.trials)}`);
  const h: Harness = {
    k,
    events,
    dir: dir.path,
    async file(name) {
      const path = `${dir.path}/${name}`;
      await Deno.writeTextFile(path, "original\n");
      const id = kernelIdentity.inodeOf(path, await Deno.stat(path));
      k.watchInode(id, FimWatch.File);
      return { path, id };
    },
    about: (id) => events.filter((e) => e.ino === id.ino && e.dev === id.dev),
    created: (name, pid) =>
      events.some((e) => e.op === FimOp.Create && e.name === name && e.tgid === pid),
    async inDir(script, name) {
      const w = await run(["sh", "-c", script, "sh", `${dir.path}/${name}`]);
      assertEquals(w.code, 0, w.stderr);
      return w.pid;
    },
  };
  try {
    await fn(h);
  } finally {
    await k.close();
  }
}

const settle = () => new Promise((r) => setTimeout(r, 100));

/** The ring read on this thread alone, and emptied by the native pump into its queue. */
const READERS = [
  { how: "read here", queue: 0 },
  { how: "pumped", queue: 1 << 20 },
] as const;

for (const { how, queue } of READERS) {
  Deno.test(`ring buffer (${how}): records that wrap around the end of a 4 KiB ring arrive whole, none lost or repeated`, async () => {
    await withKernel({ ringBytes: 4096, ringQueueBytes: queue }, async (h) => {
      assertEquals(h.k.ringQueue.bytes, queue, "the pump did not start");
      const { path, id } = await h.file("laps.conf");
      const before = h.k.counters();
      const received = h.events.length;
      // One shell appends a line per line it reads; re-arming after each event makes its next
      // append a new event, so 100 appends are 100 records of 112 bytes (the event's 96-byte
      // head, "dash", alignment and the 8-byte header): nearly three laps of the ring, and the
      // 37th record (at 4,032) is the first to run over its end.
      const sh = new Deno.Command("sh", {
        args: ["-c", 'while read -r l; do echo "$l" >> "$1"; done', "sh", path],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const input = sh.stdin.getWriter();
      const appends = 100;
      try {
        for (let i = 1; i <= appends; i++) {
          await input.write(new TextEncoder().encode(`line ${i}\n`));
          assert(await waitFor(() => h.about(id).length >= i), `append ${i} was not seen`);
          h.k.rearm(id);
        }
      } finally {
        await input.close();
        await sh.status;
      }
      await settle();
      const seen = h.about(id);
      assertEquals(seen.length, appends);
      for (const e of seen) {
        assertEquals([e.tgid, e.comm, e.op], [sh.pid, "sh", seen[0].op]);
        assert(e.startNs > 0n && e.tsNs > 0n, "a record was torn");
      }
      const c = h.k.counters();
      assertEquals(
        [c.drops - before.drops, Number(c.events - before.events)],
        [0n, h.events.length - received],
      );
    });
  });
}

for (const { how, queue } of READERS) {
  Deno.test(`ring buffer (${how}): behind(about) waits only while an unread record names one of those inodes`, async () => {
    await withKernel({ ringBytes: 1 << 20, ringQueueBytes: queue }, async (h) => {
      const files: { path: string; id: InodeId }[] = [];
      for (let i = 0; i < 300; i++) files.push(await h.file(`behind${i}.conf`));
      const unrelated = kernelIdentity.inodeOf(h.dir, await Deno.stat(h.dir)).ino + 1_000_000n;
      await settle();
      // Appended to from this thread, which then reads nothing until the calls below: 300
      // records wait in the ring (or, pumped, in the pump's queue).
      for (const f of files) Deno.writeTextFileSync(f.path, "more\n", { append: true });
      const first = files[0].id;
      const last = files[files.length - 1].id;
      // Each call drains the first 64 first: the first file's record is read by then.
      const none = h.k.behind([unrelated]);
      const early = h.k.behind([first.ino]);
      const late = h.k.behind([last.ino]);
      const any = h.k.behind();
      assertEquals([none, early], [undefined, undefined], "it waited for records not about them");
      assert(late && any, "it did not wait for the unread record about the last file");
      assertEquals(h.about(last).length, 0, "the last file's record was read before the wait");
      await late;
      assert(h.about(last).length > 0, "the wait ended before the last file's record was read");
      await Promise.all([none, early, any]);
    });
  });
}

Deno.test("ring buffer pumped: 2,000 events past the kernel's 64 KiB ring while this thread is blocked wait in the pump's queue, none dropped", async () => {
  // 585 records fit in the ring; 2,000 come over about 300 ms (a write every 0.15 ms) while
  // nothing on this thread reads (outputSync). The pump's thread, woken by the kernel, needs
  // a core once every 585 of them (about 90 ms), as a 4 MiB ring needs it once every 28,000.
  const n = 2000;
  await withKernel({ ringBytes: 65536, ringQueueBytes: 1 << 20 }, async (h) => {
    const files: { path: string; id: InodeId }[] = [];
    for (let i = 0; i < n; i++) files.push(await h.file(`burst${i}.conf`));
    const before = h.k.counters();
    const py = "import os,sys,time\n" +
      "for p in sys.argv[1:]:\n" +
      " fd=os.open(p,os.O_WRONLY|os.O_APPEND); os.write(fd,b'more\\n'); os.close(fd)\n" +
      " time.sleep(0.0001)\n" +
      "print(os.getpid())\n";
    const out = new Deno.Command("python3", { args: ["-c", py, ...files.map((f) => f.path)] })
      .outputSync();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const pid = Number(new TextDecoder().decode(out.stdout).trim());
    const missing = () => files.filter(({ id }) => !h.about(id).some((e) => e.tgid === pid));
    await waitFor(() => missing().length === 0);
    const dropped = h.k.counters().drops - before.drops;
    assertEquals(
      [missing().length, dropped],
      [0, 0n],
      `events missing, and dropped by the kernel's ring (queue ${JSON.stringify(h.k.ringQueue)})`,
    );
    assert(
      h.k.ringQueue.peak > 65536,
      `the queue held at most ${h.k.ringQueue.peak} bytes: the burst never outgrew the ring`,
    );
    assertEquals(h.k.ringQueue.queued, 0);
  });
});

for (const { how, queue } of READERS) {
  Deno.test(`ring buffer (${how}): a ring far behind is caught up a slice at a time, the event loop turning between`, async () => {
    const loop = new LoopTurns();
    const each = () => {
      loop.note();
      // 0.5 ms a record: 4,096 of them (a turn's most, behind) would hold the loop for 2 s.
      const until = performance.now() + 0.5;
      while (performance.now() < until) {
        // busy
      }
    };
    await withKernel({ ringBytes: 1 << 20, ringQueueBytes: queue, each }, async (h) => {
      const n = 2000;
      const files: { path: string; id: InodeId }[] = [];
      for (let i = 0; i < n; i++) files.push(await h.file(`slow${i}.conf`));
      await settle();
      loop.start();
      // Written from this thread, which reads nothing meanwhile: 2,000 records of 112 bytes,
      // past an eighth of the ring (or of the pump's queue), wait.
      for (const f of files) Deno.writeTextFileSync(f.path, "more\n", { append: true });
      assert(
        await waitFor(() => files.every(({ id }) => h.about(id).length > 0), 20_000),
        "records were not handed over",
      );
      loop.stop();
      assert(loop.most <= 256, `${loop.most} records handed over in one turn of the event loop`);
      assert(loop.turns >= 8, `all ${n} handed over in ${loop.turns} turns`);
    });
  });
}

for (const { how, queue } of [{ how: "read here", queue: 0 }, { how: "pumped", queue: 1024 }]) {
  Deno.test(`ring buffer full (${how}): the pending entry keeps who wrote each inode whose event was dropped`, async () => {
    // Pumped: the queue takes 9 of the 60 records, the 4 KiB ring 36; the rest are dropped.
    await withKernel({ ringBytes: 4096, ringQueueBytes: queue }, async (h) => {
      const files: { path: string; id: InodeId }[] = [];
      for (let i = 0; i < 60; i++) files.push(await h.file(`held${i}.conf`));
      const before = h.k.counters();
      // One shell appends to all 60 while this thread is blocked (outputSync), so nothing
      // reads the ring: 60 records of 112 bytes do not fit in 4 KiB.
      const out = new Deno.Command("sh", {
        args: [
          "-c",
          'for f in "$@"; do echo more >> "$f"; done; echo $$',
          "sh",
          ...files.map((f) => f.path),
        ],
      }).outputSync();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const pid = Number(new TextDecoder().decode(out.stdout).trim());
      await settle();
      const dropped = h.k.counters().drops - before.drops;
      assert(dropped > 0n, "the ring held all 60 events: the test needs a drop");
      const held = new Map(h.k.heldWriters().map((x) => [`${x.id.dev}:${x.id.ino}`, x.writers]));
      for (const { id } of files) {
        const sent = h.about(id).some((e) => e.tgid === pid);
        const kept = held.get(`${id.dev}:${id.ino}`)?.some((w) =>
          w.tgid === pid && w.ops.includes(FimOp.Write) && w.startNs > 0n
        );
        assert(sent || kept, `inode ${id.ino}: neither an event nor a held writer`);
      }
      assertEquals(held.size, Number(dropped), "one held entry per dropped event");
      assertEquals(h.k.counters().unheld, before.unheld, "a drop held nothing");
      h.k.rearmAll();
      assertEquals(h.k.heldWriters(), []);
    });
  });
}

for (const { how, queue } of [{ how: "read here", queue: 0 }, { how: "pumped", queue: 65536 }]) {
  Deno.test(`ring buffer (${how}): its last eighth is root's, and so is all but an eighth of the pump's queue; an unprivileged flood leaves root's writes their events and their writer`, async () => {
    // nobody appends to 1,000 watched files of its own, then root to 20 of root's, while this
    // thread is blocked (outputSync): nobody's records alone would fill the 64 KiB ring (about
    // 580 fit), and root's writes would be dropped, found later by a rescan with no writer.
    // Pumped, the queue (64 KiB) takes nobody's records only until it holds an eighth of it.
    await withKernel({ ringBytes: 65536, ringQueueBytes: queue }, async (h) => {
      await Deno.chmod(h.dir, 0o755);
      const theirs: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const { path } = await h.file(`nobody${i}.conf`);
        await Deno.chown(path, 65534, 65534);
        theirs.push(path);
      }
      const roots: { path: string; id: InodeId }[] = [];
      for (let i = 0; i < 20; i++) roots.push(await h.file(`root${i}.conf`));
      const before = h.k.counters();
      const out = new Deno.Command("sh", {
        args: [
          "-c",
          // A pause (sleep 1 ms) every 10 appends: the pump, woken by the ring, gets its turns
          // also on a loaded machine, where a burst of 1,000 at once filled the ring before it
          // ran (a CI run). Nothing reads the ring here either way.
          'setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \'i=0; for f in "$@"; do echo more >> "$f"; i=$((i + 1)); [ $((i % 10)) -ne 0 ] || sleep 0.001; done\' sh $1; ' +
          'for f in $2; do echo more >> "$f"; done; echo $$',
          "sh",
          theirs.join(" "),
          roots.map((r) => r.path).join(" "),
        ],
      }).outputSync();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const pid = Number(new TextDecoder().decode(out.stdout).trim());
      const unnamed = () => roots.filter(({ id }) => !h.about(id).some((e) => e.tgid === pid));
      await waitFor(() => unnamed().length === 0, 5000);
      const dropped = h.k.counters().drops - before.drops;
      assert(dropped > 0n, "nobody's appends all fit in the ring: the test needs them to fill it");
      // Kept from root's eighth, nobody's events held their entries, as a full ring's do.
      assertEquals(h.k.counters().unheld, before.unheld, "a drop held nothing");
      assertEquals(
        unnamed().map((r) => r.path),
        [],
        `root's appends without an event naming root's shell (${dropped} dropped)`,
      );
      // Pumped, root's first event waits behind an eighth of the queue of nobody's (70 records in
      // runs by hand, also with four busy loops beside it) and at most what one pass of the pump
      // moves past it, not the 1,000 that the ring and the queue together hold without the share.
      const first = h.events.findIndex((e) => e.tgid === pid);
      const ahead = h.events.slice(0, first).filter((e) => e.uid === 65534).length;
      if (queue) assert(ahead <= 300, `root's first event came after ${ahead} of nobody's`);
    });
  });
}

Deno.test("folding: a second writer on a pending inode gets its own event; a repeat by the first is folded", async () => {
  await withKernel({}, async (h) => {
    const { path, id } = await h.file("shared.conf");
    const before = h.k.counters();
    // Two writes by one process: one event, one fold (the control).
    const a = await run(["sh", "-c", 'echo a >> "$1"; echo a2 >> "$1"', "sh", path]);
    assertEquals(a.code, 0, a.stderr);
    assert(await waitFor(() => h.about(id).some((e) => e.tgid === a.pid)), "first writer missed");
    await settle();
    assertEquals(h.about(id).filter((e) => e.tgid === a.pid).length, 1);
    assert(h.k.counters().coalesced > before.coalesced, "the repeat write was not folded");
    // Nobody re-armed the inode: another process's write must still be an event.
    const b = await run(["sh", "-c", 'echo b >> "$1"', "sh", path]);
    assertEquals(b.code, 0, b.stderr);
    assert(
      await waitFor(() => h.about(id).some((e) => e.tgid === b.pid)),
      `the second writer was folded into the first: ${
        JSON.stringify(h.about(id).map((e) => e.tgid))
      }`,
    );
  });
});

Deno.test("fold cache: a thread's exit ends it; a re-arm, or taking the inode out and back, ends it: the folding process's next write is an event", async () => {
  await withKernel({}, async (h) => {
    const a = await h.file("cached.conf");
    const b = await h.file("other.conf");
    // One process on one CPU (the cache is per CPU), 200 appends per line read.
    const py = "import os,sys\n" +
      "fa=os.open(sys.argv[1],os.O_WRONLY|os.O_APPEND)\n" +
      "fb=os.open(sys.argv[2],os.O_WRONLY|os.O_APPEND)\n" +
      "for line in sys.stdin:\n" +
      " fd=fa if line.strip()=='a' else fb\n" +
      " if line.strip()=='exits':\n" +
      "  for _ in range(100):\n" +
      "   p=os.fork()\n" +
      "   if p==0: os._exit(0)\n" +
      "   os.waitpid(p,0); os.write(fa,b'x')\n" +
      " else:\n" +
      "  for _ in range(200): os.write(fd,b'x')\n" +
      " print('done',flush=True)\n";
    const child = new Deno.Command("taskset", {
      args: ["-c", "0", "python3", "-c", py, a.path, b.path],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const input = child.stdin.getWriter();
    const output = child.stdout.getReader();
    const step = async (which: "a" | "b" | "exits") => {
      await input.write(new TextEncoder().encode(`${which}\n`));
      let got = "";
      while (!got.includes("done")) {
        const r = await output.read();
        if (r.done) throw new Error("the writer exited");
        got += new TextDecoder().decode(r.value);
      }
      await settle();
    };
    const of = (id: InodeId) => h.about(id).filter((e) => e.tgid === child.pid).length;
    try {
      const before = h.k.counter("coalesced");
      await step("a");
      assertEquals(of(a.id), 1, "200 appends: one event");
      assert(h.k.counter("coalesced") - before >= 199n, "the repeats were not folded");
      const cached = h.k.cachedFolds();
      await step("a");
      assertEquals(of(a.id), 1, "not re-armed: folded still");
      // Another process's exits elsewhere on the machine can only take some away.
      assert(h.k.cachedFolds() - cached >= 150n, "the repeats did not fold by the cache");
      // A task is reused only after its thread exited: a write after any exit (here a
      // child's, reaped before the write) is not matched by its task, though it still
      // folds (by the pending entry).
      const afterExits = h.k.cachedFolds();
      await step("exits");
      assertEquals(of(a.id), 1, "a write after a thread's exit was an event");
      assertEquals(
        h.k.cachedFolds(),
        afterExits,
        "a write after a thread's exit folded by the cache",
      );
      h.k.rearm(a.id);
      await step("a");
      assertEquals(of(a.id), 2, "the first write after a re-arm was folded");
      h.k.unwatchInode(a.id);
      h.k.watchInode(a.id, FimWatch.File);
      await step("a");
      assertEquals(of(a.id), 3, "the first write after the inode came back was folded");
      await step("b");
      assertEquals(of(b.id), 1, "a write to another inode was folded");
    } finally {
      await input.close();
      await child.status;
      output.releaseLock();
      await child.stdout.cancel().catch(() => {});
    }
  });
});

Deno.test("folding: a shared writable mapping after a pwrite by the same process is its own event", async () => {
  await withKernel({}, async (h) => {
    const { path, id } = await h.file("mapped.conf");
    const py = "import os,sys,mmap\n" +
      "fd=os.open(sys.argv[1],os.O_RDWR)\n" +
      "os.pwrite(fd,b'P',0)\n" +
      "m=mmap.mmap(fd,0,mmap.MAP_SHARED,mmap.PROT_READ|mmap.PROT_WRITE)\n" +
      "m[1:2]=b'M'; m.flush()\n";
    const r = await run(["python3", "-c", py, path]);
    assertEquals(r.code, 0, r.stderr);
    const ops = () => h.about(id).filter((e) => e.tgid === r.pid).map((e) => e.op);
    assert(
      await waitFor(() => ops().includes(FimOp.Write) && ops().includes(FimOp.MmapWrite)),
      `got ops ${JSON.stringify(ops())}`,
    );
  });
});

Deno.test("folding: a pending map that refuses an entry counts a drop, never a fold", async () => {
  await withKernel({ pendingEntries: 1 }, async (h) => {
    const first = await h.file("first.conf");
    const second = await h.file("second.conf");
    const w = (p: string) => run(["sh", "-c", 'echo x >> "$1"', "sh", p]);
    assertEquals((await w(first.path)).code, 0);
    assert(await waitFor(() => h.about(first.id).length > 0), "control write missed");
    const before = h.k.counters();
    // The one entry is taken by `first`: `second` cannot be noted.
    assertEquals((await w(second.path)).code, 0);
    assert(await waitFor(() => h.k.counters().drops > before.drops), "no drop counted");
    assertEquals(h.k.counters().coalesced, before.coalesced);
    // Nothing held it: the rescan must be of every watch.
    const after = h.k.counters();
    assertEquals(after.unheld - before.unheld, after.drops - before.drops, "counted as held");
  });
});

/** Builds test/inode/abi_ops.c into `dir`. */
function abiOps(dir: string): Promise<string> {
  return buildProgram(dir, "abi_ops");
}

Deno.test("32-bit syscalls (int $0x80 from a 64-bit program) are mapped to what they do", async (t) => {
  await withKernel({}, async (h) => {
    await t.step({
      name: `under ${h.k.spec.name}`,
      // fentry and kprobe hook the x86_64 entry points only (see README, known limits).
      ignore: h.k.spec.name !== "tracepoint",
      fn: async () => {
        const bin = await abiOps(h.dir);
        const rows: [string, FimOp][] = [
          ["write64", FimOp.Write], // the control: the x86_64 ABI
          ["int80-write", FimOp.Write],
          ["int80-fchmod", FimOp.Attrib],
        ];
        const missed: string[] = [];
        for (const [op, want] of rows) {
          const { path, id } = await h.file(`${op}.conf`);
          const r = await run([bin, op, path]);
          assertEquals(r.code, 0, `${op}: ${r.stderr}`);
          if (
            !await waitFor(() => h.about(id).some((e) => e.tgid === r.pid && e.op === want), 2000)
          ) {
            missed.push(`${op}: got ${JSON.stringify(h.about(id).map((e) => e.op))}`);
          }
        }
        // A path syscall: truncate64(path) names the watched basename.
        const { path } = await h.file("int80-truncate64.conf");
        // Watched by (directory, name), as the watch set does.
        const keys = new DirKeys(h.k);
        keys.ref(h.dir, "int80-truncate64.conf");
        const r = await run([bin, "int80-truncate64", path]);
        keys.unref(h.dir, "int80-truncate64.conf");
        assertEquals(r.code, 0, r.stderr);
        const named = () =>
          h.events.some((e) =>
            e.tgid === r.pid && e.op === FimOp.PathTruncate && e.name === "int80-truncate64.conf"
          );
        if (!await waitFor(named, 2000)) missed.push("int80-truncate64: no name event");
        assert(missed.length === 0, `missed:\n  ${missed.join("\n  ")}`);
      },
    });
  });
});

Deno.test("AT_EMPTY_PATH forms act on the fd: fchownat, utimensat, fchmodat2, setxattrat", async () => {
  await withKernel({}, async (h) => {
    const bin = await abiOps(h.dir);
    const [major, minor] = Deno.osRelease().split(".").map(Number);
    const rows: [string, FimOp][] = [
      ["fchownat-empty", FimOp.Attrib],
      ["utimensat-empty", FimOp.Attrib],
      ["fchmodat2-empty", FimOp.Attrib], // 6.6+
      ["setxattrat-empty", FimOp.Xattr], // 6.13+
    ];
    const missed: string[] = [];
    for (const [op, want] of rows) {
      if (op === "fchmodat2-empty" && (major < 6 || (major === 6 && minor < 6))) continue;
      if (op === "setxattrat-empty" && (major < 6 || (major === 6 && minor < 13))) continue;
      const { path, id } = await h.file(`${op}.conf`);
      const r = await run([bin, op, path]);
      assertEquals(r.code, 0, `${op}: ${r.stderr}`);
      if (!await waitFor(() => h.about(id).some((e) => e.tgid === r.pid && e.op === want), 2000)) {
        missed.push(`${op}: got ${JSON.stringify(h.about(id).map((e) => e.op))}`);
      }
    }
    // The control: the same harness sees the fd form everyone uses.
    const { path, id } = await h.file("fchmod.conf");
    const c = await run([
      "python3",
      "-c",
      "import os,sys;os.chmod(os.open(sys.argv[1],os.O_RDONLY),0o600)",
      path,
    ]);
    assertEquals(c.code, 0, c.stderr);
    assert(await waitFor(() => h.about(id).some((e) => e.tgid === c.pid)), "control fchmod missed");
    assert(missed.length === 0, `missed:\n  ${missed.join("\n  ")}`);
  });
});

Deno.test("events carry the process start time that /proc/PID/stat shows", async () => {
  await withKernel({}, async (h) => {
    const { path, id } = await h.file("started.conf");
    const child = new Deno.Command("sh", {
      args: ["-c", 'echo s >> "$1"; read x', "sh", path],
      stdin: "piped",
    }).spawn();
    try {
      assert(await waitFor(() => h.about(id).some((e) => e.tgid === child.pid)), "write missed");
      const e = h.about(id).find((e) => e.tgid === child.pid)!;
      const ticks = startTicksOf(await Deno.readTextFile(`/proc/${child.pid}/stat`));
      assertEquals(ticks, e.startNs / 10_000_000n);
      assertEquals(sameProcess(child.pid, e.startNs), true);
      // The control: another start time is another process.
      assertEquals(sameProcess(child.pid, e.startNs + 1_000_000_000n), false);
    } finally {
      await child.stdin.close();
      await child.status;
    }
  });
});

Deno.test("reattach gives each program a new link before dropping the old one, and events still flow", async () => {
  await withKernel({}, async (h) => {
    const { path, id } = await h.file("reattached.conf");
    const before = h.k.attached.length;
    const { again, kept } = h.k.reattach();
    // Every program is attached again or keeps its link: none is left without one.
    assertEquals(h.k.attached.length, before);
    assertEquals(again.length + kept.length, before);
    assert(again.length > 0, `no program was attached again: ${kept.join("; ")}`);
    const w = await run(["sh", "-c", 'echo after >> "$1"', "sh", path]);
    assertEquals(w.code, 0, w.stderr);
    assert(
      await waitFor(() => h.about(id).some((e) => e.tgid === w.pid)),
      "no event after reattach",
    );
  });
});

Deno.test("mark gate: with every watched inode marked, unmarked inodes skip the lookup; an unvouched entry turns it off", async () => {
  await withKernel({}, async (h) => {
    const g = FanotifyGroup.open();
    try {
      const make = async (name: string) => {
        const path = `${h.dir}/${name}`;
        await Deno.writeTextFile(path, "original\n");
        return { path, id: kernelIdentity.inodeOf(path, await Deno.stat(path)) };
      };
      const wrote = async (f: { path: string; id: InodeId }) => {
        const w = await run(["sh", "-c", 'echo more >> "$1"', "sh", f.path]);
        assertEquals(w.code, 0, w.stderr);
        return await waitFor(() => h.about(f.id).some((e) => e.tgid === w.pid), 1000);
      };
      const marked = await make("marked.conf");
      assert(g.mark(marked.path, marked.id, FILE_MASK), "fanotify did not mark");
      h.k.watchInode(marked.id, FimWatch.File, true);
      h.k.gate.allow(true);
      assert(h.k.gate.on, "the gate stays off with every entry vouched for");
      assert(await wrote(marked), "a marked, watched file's write was skipped");
      // Vouched for without a mark: the kernel skips it, so the gate is really in the hot path.
      const liar = await make("unmarked.conf");
      h.k.watchInode(liar.id, FimWatch.File, true);
      assert(!(await wrote(liar)), "an unmarked file was looked up while the gate was on");
      // An entry nobody vouches for turns the gate off: every watched inode is looked up again.
      const plain = await make("plain.conf");
      h.k.watchInode(plain.id, FimWatch.File);
      assert(!h.k.gate.on, "an unvouched entry left the gate on");
      assert(await wrote(liar), "with the gate off, a watched file's write was missed");
      assert(await wrote(plain), "the unvouched file's write was missed");
      h.k.unwatchInode(plain.id);
      assert(h.k.gate.on, "the gate did not come back when the unvouched entry left");
      h.k.gate.allow(false);
      assert(!h.k.gate.on);
      assert(await wrote(liar), "withdrawn, the gate still skipped a watched file");
    } finally {
      await g.close();
    }
  });
});

Deno.test("early watch: one batch puts inodes in the map, a full map takes what fits, and recording one with the same flags only vouches for it", async () => {
  await withKernel({ maxWatches: 8 }, async (h) => {
    const g = FanotifyGroup.open();
    try {
      const files: { path: string; id: InodeId }[] = [];
      for (let i = 0; i < 12; i++) {
        const path = `${h.dir}/f${i}`;
        await Deno.writeTextFile(path, "original\n");
        files.push({ path, id: kernelIdentity.inodeOf(path, await Deno.stat(path)) });
      }
      const written = h.k.watchInodesEarly(
        files.map((f) => ({ id: f.id, key: inodeKeyString(f.id), flags: FimWatch.File })),
      );
      // What it says went in is what the map holds; eight entries fit, twelve do not.
      assertEquals(written, files.map((f) => h.k.isWatched(f.id)));
      const inMap = files.filter((_, i) => written[i]);
      assert(inMap.length > 0 && inMap.length < files.length, `written: ${written}`);
      assert(!h.k.gate.on, "early entries are vouched for by no mark");
      const w = await run(["sh", "-c", 'echo more >> "$1"', "sh", inMap[0].path]);
      assert(
        await waitFor(() => h.about(inMap[0].id).some((e) => e.tgid === w.pid), 1000),
        "a write to an inode watched early sent no event",
      );
      // Recorded with a mark and the same flags: vouched for, still in the map.
      for (const f of inMap) {
        assert(g.mark(f.path, f.id, FILE_MASK, "file"), "fanotify did not mark");
        h.k.watchInode(f.id, FimWatch.File, true);
        assert(h.k.isWatched(f.id), "recording an early inode took it out of the map");
      }
      // The ones that did not fit were never vouched for (they are not in the map).
      h.k.gate.allow(true);
      assert(h.k.gate.on, "every early entry recorded with a mark, yet the gate stays off");
      // Out and back in: an early entry taken out is written again when recorded.
      h.k.watchInodesEarly([{ id: inMap[1].id, key: inodeKeyString(inMap[1].id), flags: 1 }]);
      h.k.unwatchInode(inMap[1].id);
      h.k.watchInode(inMap[1].id, FimWatch.File, true);
      assert(h.k.isWatched(inMap[1].id), "an early entry taken out was not written again");
    } finally {
      h.k.gate.allow(false);
      await g.close();
    }
  });
});

Deno.test("held names: watchEntry's names wait for holdEntries' write, then reach the map all at once, and a full map's refusals are counted", async () => {
  await withKernel({ maxWatches: 64 }, async (h) => {
    const dir = kernelIdentity.inodeOf(h.dir, await Deno.stat(h.dir));
    const { created } = h;
    const make = (name: string) => h.inDir('echo x > "$1"', name);
    const names = Array.from({ length: 40 }, (_, i) => `held${i}.conf`);
    const write = h.k.holdEntries();
    for (const n of names) h.k.watchEntry(dir, nameHash(n));
    // The control: held, a name is not in the map yet, so its creation is not named.
    let pid = await make(names[0]);
    await settle();
    assert(!created(names[0], pid), "a held name was in the map before the write");
    assertEquals(write(), { failed: 0 });
    for (const n of [names[1], names[39]]) {
      pid = await make(n);
      assert(await waitFor(() => created(n, pid)), `${n} was not named once written`);
    }
    // Past the map's 64 entries: what does not fit is counted, with the kernel's refusal.
    const more = h.k.holdEntries();
    for (let i = 0; i < 100; i++) h.k.watchEntry(dir, nameHash(`more${i}.conf`));
    const r = more();
    assert(r.failed > 0 && r.failed < 100, `refused: ${r.failed}`);
    assert(r.error, "no refusal given");
  });
});

Deno.test("a process that exited is named from the kernel's exit record once /proc has lost it", async () => {
  await withKernel({}, async (h) => {
    assert(h.k.attached.includes("fim_process_exit"), `not attached: ${h.k.attached}`);
    const r = await run(["sh", "-c", "exec true"]);
    assertEquals(r.code, 0, r.stderr);
    assert(!(await Deno.stat(`/proc/${r.pid}`).then(() => true, () => false)), "still in /proc");
    const x = h.k.exited(r.pid);
    assert(x, "no exit record");
    assertEquals([x.comm, x.ppid, x.uid, x.euid], ["true", Deno.pid, 0, 0]);
    assert(x.startNs > 0n);
    const id = { dev: 1, ino: 1n };
    const e = eventFromProc(r.pid, id, FimOp.Write, { exited: (pid) => h.k.exited(pid) });
    assertEquals([e.comm, e.ppid, e.startNs], ["true", Deno.pid, x.startNs]);
    // Without the record, the pid is all there is.
    assertEquals(eventFromProc(r.pid, id, FimOp.Write).comm, "");
  });
});

Deno.test("name events: O_CREAT of a watched file that exists sends none; a creation sends its name whole, short or long", async () => {
  await withKernel({}, async (h) => {
    const dir = kernelIdentity.inodeOf(h.dir, await Deno.stat(h.dir));
    h.k.watchInode(dir, FimWatch.Dir);
    const { created } = h;
    const append = (name: string) => h.inDir('echo more >> "$1"', name);
    // Names on both sides of the short record's room (63 bytes and its NUL), and the longest.
    for (const name of ["n.conf", "a".repeat(63), "b".repeat(64), "c".repeat(255)]) {
      const pid = await append(name);
      assert(
        await waitFor(() => created(name, pid)),
        `creation of a ${name.length}-byte name missed`,
      );
    }
    // An existing file whose inode is watched: its write is the event, and no name event.
    const { id } = await h.file("old.conf");
    const pid = await append("old.conf");
    assert(await waitFor(() => h.about(id).some((e) => e.tgid === pid)), "the write was missed");
    await settle();
    assert(!created("old.conf", pid), "O_CREAT of an existing watched file sent a name event");
    // An existing name whose inode is not watched (yet) still sends one.
    await Deno.writeTextFile(`${h.dir}/unknown.conf`, "x\n");
    const other = await append("unknown.conf");
    assert(
      await waitFor(() => created("unknown.conf", other)),
      "an unwatched existing name was not named",
    );
  });
});

Deno.test("records take the bytes their executable's name and entry's name have: a 70-byte executable name arrives cut to 63, a 255-byte entry name whole", async () => {
  await withKernel({}, async (h) => {
    const dir = kernelIdentity.inodeOf(h.dir, await Deno.stat(h.dir));
    const { path, id } = await h.file("plain.conf");
    const readBefore = h.k.ringBytesRead;
    const seenBefore = h.events.length;
    // A short executable (dash) appending to a watched inode: the control.
    const short = await run(["sh", "-c", 'echo more >> "$1"', "sh", path]);
    assertEquals(short.code, 0, short.stderr);
    assert(
      await waitFor(() => h.about(id).some((e) => e.tgid === short.pid)),
      "the append was missed",
    );
    // A long one creating a long name in a watched directory.
    await using bin = await tempDir();
    const exe = `${bin.path}/${"e".repeat(70)}`;
    await Deno.copyFile("/bin/dash", exe);
    await Deno.chmod(exe, 0o755);
    h.k.watchInode(dir, FimWatch.Dir);
    const name = "n".repeat(255);
    const long = await run([exe, "-c", 'echo x > "$1"', "sh", `${h.dir}/${name}`]);
    assertEquals(long.code, 0, long.stderr);
    const created = () =>
      h.events.find((e) => e.op === FimOp.Create && e.tgid === long.pid && e.name === name);
    assert(await waitFor(() => created() !== undefined), "the long name's creation was missed");
    assertEquals(created()!.exe, "e".repeat(63));
    assertEquals(h.about(id).find((e) => e.tgid === short.pid)!.exe, "dash");
    await settle();
    // Every byte read from the ring was an event's head, names, alignment and header.
    const records = h.events.slice(seenBefore).map((e) =>
      ringRecordBytes(pathBytes(e.exe).length, pathBytes(e.name).length)
    );
    assertEquals(Number(h.k.ringBytesRead - readBefore), records.reduce((a, b) => a + b, 0));
    assertEquals(ringRecordBytes(4, 0), 120, "dash's append is not a 120-byte record");
  });
});

Deno.test("mounts: one in a namespace a new user namespace owns is left out; one in a root-made namespace is news", async () => {
  await withKernel({}, async (h) => {
    await Deno.mkdir(`${h.dir}/m`);
    const mounts = () => h.events.filter((e) => e.op === FimOp.Mount);
    // As any user can: a user namespace of its own, and a mount in its mount namespace.
    const user = await run(["unshare", "-Urm", "mount", "-t", "tmpfs", "none", `${h.dir}/m`]);
    assertEquals(user.code, 0, user.stderr);
    await settle();
    assertEquals(
      mounts().filter((e) => e.tgid === user.pid),
      [],
      "a user namespace's mount was news",
    );
    // The control, the same mount in a mount namespace owned by the initial user namespace
    // (as container runtimes make them): its mounts may propagate back, so it is news.
    const root = await run(["unshare", "-m", "mount", "-t", "tmpfs", "none", `${h.dir}/m`]);
    assertEquals(root.code, 0, root.stderr);
    assert(
      await waitFor(() => mounts().some((e) => e.tgid === root.pid)),
      "the control mount was missed",
    );
    // A mount and an umount name the mount point they were given (unshare's own first call,
    // making / private, is the one its process was reported for above).
    try {
      for (
        const cmd of [["mount", "-t", "tmpfs", "none", `${h.dir}/m`], ["umount", `${h.dir}/m`]]
      ) {
        const r = await run(cmd);
        assertEquals(r.code, 0, r.stderr);
        assert(await waitFor(() => mounts().some((e) => e.tgid === r.pid)), `${cmd[0]} missed`);
        assertEquals(mounts().find((e) => e.tgid === r.pid)?.name, `${h.dir}/m`, cmd[0]);
      }
    } finally {
      await run(["umount", "-q", `${h.dir}/m`]); // left mounted only when a step failed
    }
  });
});

import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { EarlyWatch } from "./early_watch.ts";
import type { InodeId } from "./inode_key.ts";
import type { AttributedEvent } from "./attribution.ts";
import {
  type FanotifySink,
  type FanotifySource,
  openFanotify,
  withFanotify,
} from "./fanotify_source.ts";
import { type FileState, readFileState } from "./file_state.ts";
import { NativeReader } from "./native_reader.ts";
import { nativeLibraryPath } from "../native/native_library.ts";
import { emptyResults, packItems, unpackResults } from "./read_batch.ts";
import { FILE_MASK } from "../fanotify/fanotify_abi.ts";
import { markResultsOf } from "../fanotify/native_marks.ts";
import { WatchSet } from "./watch_set.ts";
import { NO_BPF } from "../../test/no_bpf_table.ts";

/** What openFanotify gave a child process run under `wrapper` (after `before`, its first lines). */
async function openInChild(wrapper: string[], before = ""): Promise<{
  opened: boolean;
  privileged?: boolean;
  warned: string[];
  lost: string[];
}> {
  await using dir = await tempDir();
  const script = `${dir.path}/open.ts`;
  const source = new URL("./fanotify_source.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { openFanotify } from "${source}";
${before}
const warned: string[] = [];
const lost: string[] = [];
const s = openFanotify((m) => warned.push(m), (w) => lost.push(w));
console.log(JSON.stringify({ opened: !!s, privileged: s?.group.privileged, warned, lost }));
await s?.stop();
`,
  );
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const out = await new Deno.Command(wrapper[0], {
    args: [...wrapper.slice(1), Deno.execPath(), "run", "-A", "--config", config, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout).trim());
}

Deno.test("without CAP_SYS_ADMIN fanotify opens as an unprivileged listener, with one warning that pids are hidden", async () => {
  // Root without CAP_SYS_ADMIN in its bounding set: exec gives it every other capability.
  const r = await openInChild(["setpriv", "--bounding-set=-sys_admin"]);
  assertEquals([r.opened, r.privileged, r.lost], [true, false, []]);
  assertEquals(r.warned.length, 1);
  assert(r.warned[0].includes("hides other processes' pids"), r.warned[0]);
});

Deno.test("a fanotify that cannot be opened is one warning and lost coverage", async () => {
  // No group may be made: the per-user limit at 0, in a user namespace of its own (the
  // system's limit, fs.fanotify.max_user_groups, is shared with every test running beside
  // this one). In it fanotify opens unprivileged, and the limit refuses that too.
  const r = await openInChild(
    ["unshare", "--user", "--map-root-user"],
    `Deno.writeTextFileSync("/proc/sys/user/max_fanotify_groups", "0\\n");`,
  );
  assertEquals([r.opened, r.lost], [false, ["fanotify (fanotify_init: EMFILE)"]]);
  assertEquals(r.warned.length, 1);
  assert(r.warned[0].startsWith("coverage lost: fanotify (fanotify_init: EMFILE); "), r.warned[0]);
});

/** What the source fed, recorded. */
class Recorder implements FanotifySink {
  readonly events: AttributedEvent[] = [];
  rescans = 0;
  onKernelEvent(e: AttributedEvent): void {
    this.events.push(e);
  }
  markDirty(): void {}
  schedule(): void {}
  rescan(): void {
    this.rescans++;
  }
  offer(): void {}
  writerClosed(_path: string): void {}
}

Deno.test("a fanotify queue overflow is counted, warned once per overflow, and rescans every watch", async () => {
  // The queue is filled as the system sizes it: fs.fanotify.max_queued_events is one value
  // for the whole system, so shrinking it would shrink the groups of every test beside this
  // one. Each of many processes changes 40 files before any event is read: the kernel merges
  // a file's events only within one process, so each process's are 40 more in the queue.
  const max = Number(Deno.readTextFileSync("/proc/sys/fs/fanotify/max_queued_events"));
  assert(max <= 1 << 20, `fs.fanotify.max_queued_events is ${max}: too many to overflow`);
  await using dir = await tempDir();
  const warned: string[] = [];
  const fan = openFanotify((m) => warned.push(m))!;
  const box: { watch?: WatchSet } = {};
  const watch = box.watch = new WatchSet(withFanotify(NO_BPF, fan, () => box.watch));
  const sink = new Recorder();
  try {
    const files = Array.from({ length: 40 }, (_, i) => `${dir.path}/f${i}`);
    for (const f of files) {
      await Deno.writeTextFile(f, "x\n");
      watch.add(f, "file", f);
      watch.setState(f, await readFileState(f));
    }
    assertEquals(fan.marks, 40);
    const chmodIn = async (processes: number) => {
      const out = await new Deno.Command("python3", {
        args: ["-c", CHMOD_IN_PROCESSES, String(processes), ...files],
        stderr: "piped",
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
    };
    await chmodIn(Math.ceil(max / files.length) + 2);
    fan.start(watch, sink);
    assert(await waitFor(() => sink.rescans > 0, 10_000), "no rescan after the overflow");
    assertEquals(fan.counts.overflows, 1);
    assertEquals(warned.filter((w) => w.includes("overflowed")).length, 1, warned.join("\n"));
    // Once the watch set lets a path go, its inode's events stop.
    for (const f of files) watch.remove(f);
    assertEquals(fan.marks, 0);
    await new Promise((r) => setTimeout(r, 200));
    const before = fan.counts.events;
    await chmodIn(1);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(fan.counts.events, before, "events from inodes no longer watched");
  } finally {
    await fan.stop();
  }
});

/** Python: argv[1] processes, one after another, each chmods the files argv[2:]. */
const CHMOD_IN_PROCESSES = `import os, sys
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        for f in sys.argv[2:]:
            os.chmod(f, 0o600)
        os._exit(0)
    os.waitpid(pid, 0)
`;

Deno.test("settled() resolves once every event read has waited out its grace and been fed", async () => {
  await using dir = await tempDir();
  const fan = openFanotify(() => {})!;
  const box: { watch?: WatchSet } = {};
  const watch = box.watch = new WatchSet(withFanotify(NO_BPF, fan, () => box.watch));
  const sink = new Recorder();
  try {
    const f = `${dir.path}/f`;
    await Deno.writeTextFile(f, "x\n");
    watch.add(f, "file", f);
    watch.setState(f, await readFileState(f));
    fan.start(watch, sink);
    assertEquals(fan.waiting, false);
    await fan.settled(); // nothing read: at once
    const sh = new Deno.Command("sh", { args: ["-c", `echo y >> "$1"`, "sh", f] }).spawn();
    assert((await sh.status).success);
    assert(await waitFor(() => fan.waiting), "the write's event was never read");
    assertEquals(sink.events.length, 0, "fed before its grace");
    await fan.settled();
    assertEquals(fan.waiting, false);
    // No re-read looked at the path meanwhile: the event was fed, with the writer.
    assertEquals(sink.events.map((e) => e.tgid), [sh.pid]);
  } finally {
    await fan.stop();
  }
});

/** Inode numbers that this process's fanotify groups mark now, as the kernel lists them (fdinfo). */
function markedInodes(): Set<bigint> {
  const out = new Set<bigint>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    let target;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
    } catch {
      continue;
    }
    if (target !== "anon_inode:[fanotify]") continue;
    for (
      const m of Deno.readTextFileSync(`/proc/self/fdinfo/${e.name}`).matchAll(/ ino:([0-9a-f]+) /g)
    ) {
      out.add(BigInt(`0x${m[1]}`));
    }
  }
  return out;
}

/** A fanotify source, a watch set marking through it, and the early watch of a start. */
function startParts(): { fan: FanotifySource; watch: WatchSet; early: EarlyWatch } {
  const fan = openFanotify(() => {})!;
  const box: { watch?: WatchSet } = {};
  const watch = box.watch = new WatchSet(withFanotify(NO_BPF, fan, () => box.watch));
  // The kernel map is not the subject: it takes every inode.
  const kernel = {
    watchInodesEarly: (items: readonly unknown[]) => items.map(() => true),
    unwatchInode: (_: InodeId) => {},
  };
  return { fan, watch, early: new EarlyWatch(kernel, watch, () => {}, fan) };
}

Deno.test("a start marks each file before its first read, and a file freed since its mark, whose number the file read took, is marked afresh", async () => {
  await using dir = await tempDir();
  const { fan, watch, early } = startParts();
  try {
    fan.start(watch, new Recorder());
    const f = `${dir.path}/reborn.conf`;
    await Deno.writeTextFile(f, "first\n");
    watch.add(f, "file", dir.path, { awaitingBaseline: true });
    let reborn = false;
    for (let i = 0; i < 20 && !reborn; i++) {
      early.before([{ path: f, kind: "file", type: "file" }]);
      const marked = (await readFileState(f))!.id;
      assert(markedInodes().has(marked.ino), "the file was not marked before its read");
      // Another process removes it and makes it again: ext4 hands the freed number on, most
      // times. Neither this nor the read lets the event loop turn (as a start's busy thread):
      // the fanotify events they cause wait in the kernel's queue.
      const r = new Deno.Command("sh", { args: ["-c", 'rm -- "$1" && echo again > "$1"', "sh", f] })
        .outputSync();
      assert(r.success, new TextDecoder().decode(r.stderr));
      const read = (await readFileState(f, 0, { onThisThread: true }))!;
      reborn = read.id.ino === marked.ino;
      early.beforeRecording();
      watch.setState(f, read);
      early.settle();
      assert(
        markedInodes().has(read.id.ino),
        `the file read (inode ${read.id.ino}, ${
          reborn ? "the freed file's number" : "a new number"
        }) carries no mark`,
      );
    }
    assert(reborn, "the file system never reused the inode number: nothing was tested");
  } finally {
    early.settle(true);
    await fan.stop();
  }
});

/** Appends to `path` from another process, without O_CREAT (fanotify leaves out the agent's own). */
function appendElsewhere(path: string): number {
  // dd takes the shell's pid (exec), which the shell says first.
  const script =
    'echo $$; exec dd of="$1" oflag=append conv=notrunc,nocreat status=none <<EOF\nmore\nEOF\n';
  const c = new Deno.Command("sh", { args: ["-c", script, "sh", path], stdout: "piped" })
    .outputSync();
  assert(c.success, new TextDecoder().decode(c.stderr));
  return Number(new TextDecoder().decode(c.stdout).trim());
}

Deno.test("a start's file the workers marked and a write reached before its mark was kept is fed once kept, not dropped; one never kept is counted unmatched", async () => {
  await using dir = await tempDir();
  const path = nativeLibraryPath();
  assert(path, "bpfink-native.so is built (deno run -A build.ts native)");
  const reader = NativeReader.open(path);
  assert(reader instanceof NativeReader, JSON.stringify(reader));
  const { fan, watch, early } = startParts();
  const rec = new Recorder();
  try {
    fan.start(watch, rec);
    const files = [`${dir.path}/kept.conf`, `${dir.path}/never.conf`];
    for (const f of files) {
      await Deno.writeTextFile(f, "first\n");
      watch.add(f, "file", dir.path, { awaitingBaseline: true });
    }
    const items = files.map((f) => ({ path: f, kind: "file" as const, type: "file" as const }));
    const theirs = early.workerMarks(items);
    assert(theirs && theirs.theirs.every((t) => t), "the workers are not asked to mark files");
    // As a hashing worker does: each file marked through the fd it is read by, then read.
    const out = emptyResults(1, files.length);
    const redo = await reader.read(
      packItems(
        1,
        files.map((f) => ({ path: f, keepContentUpTo: 0, mark: FILE_MASK })),
        undefined,
        theirs.group,
      ),
      out,
    );
    assertEquals(redo, []);
    assert(out.marks, "the reader kept no marks");
    assertEquals([...out.marks.status], [1, 1]);
    const states = unpackResults(out);
    for (const s of states) {
      assert(s && "id" in s && markedInodes().has(s.id.ino), "a file was not marked by its read");
    }
    // Written before the start keeps what the marks mean: the events wait in the kernel's queue
    // until the start drains it, and name no inode the source knows yet.
    const writer = appendElsewhere(files[0]);
    appendElsewhere(files[1]);
    early.beforeRecording();
    assertEquals(fan.counts.unmatched, 0, "an event was dropped as unmatched");
    assertEquals(rec.events.length, 0);
    // The first file's mark is kept (the second's never is, as for a file no read recorded).
    early.keepWorkerMarks(
      items.slice(0, 1),
      markResultsOf({ ...out.marks, status: out.marks.status.slice(0, 1) }),
    );
    watch.setState(files[0], states[0] as FileState);
    early.settle();
    const ino = (states[0] as FileState).id.ino;
    assert(
      await waitFor(() => rec.events.some((e) => e.ino === ino && e.tgid === writer), 2000),
      `the held write was not fed: ${
        JSON.stringify(rec.events.map((e) => [String(e.ino), e.tgid]))
      }`,
    );
    early.settle(true);
    assertEquals(fan.counts.unmatched, 1, "the write no kept mark names is counted once");
  } finally {
    early.settle(true);
    reader.close();
    await fan.stop();
  }
});

Deno.test("reportsCloses says whether a writer's close of a file reaches the sink: a marked file while the group is read", async () => {
  await using dir = await tempDir();
  const fan = openFanotify(() => {})!;
  const box: { watch?: WatchSet } = {};
  const watch = box.watch = new WatchSet(withFanotify(NO_BPF, fan, () => box.watch));
  const closed: string[] = [];
  const sink = new Recorder();
  sink.writerClosed = (path: string) => closed.push(path);
  try {
    const f = `${dir.path}/f`;
    await Deno.writeTextFile(f, "x\n");
    watch.add(f, "file", f);
    const state = (await readFileState(f))!;
    watch.setState(f, state);
    assertEquals(fan.reportsCloses(state.id), false, "before the group is read");
    fan.start(watch, sink);
    assertEquals(fan.reportsCloses(state.id), true);
    const sh = new Deno.Command("sh", { args: ["-c", `echo y >> "$1"`, "sh", f] }).spawn();
    assert((await sh.status).success);
    assert(await waitFor(() => closed.length > 0), "the writer's close never reached the sink");
    assertEquals(closed, [f]);
    // A file the group does not mark: its close is never told.
    const other = `${dir.path}/other`;
    await Deno.writeTextFile(other, "x\n");
    assertEquals(fan.reportsCloses((await readFileState(other))!.id), false);
    watch.remove(f);
    assertEquals(fan.reportsCloses(state.id), false, "after its mark went");
  } finally {
    await fan.stop();
  }
  assertEquals(fan.reportsCloses({ dev: 0, ino: 0n }), false);
});

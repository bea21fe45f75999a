import { assert, assertEquals } from "../../test/assert.ts";
import { DIR_MASK, FanMask, FILE_MASK, InfoType } from "./fanotify_abi.ts";
import { FanotifyError, FanotifyGroup, markKey } from "./fanotify_group.ts";
import { nativeLibraryPath } from "../native/native_library.ts";
import { parseFanotify } from "./fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { NativeReader } from "../watch/native_reader.ts";
import { emptyResults, packItems } from "../watch/read_batch.ts";
import { markResultsOf } from "./native_marks.ts";

/** `path`'s inode as the kernel names it (the mark checks device and number). */
const kernelIdOf = async (path: string) => kernelIdentity.inodeOf(path, await Deno.lstat(path));

/** Appends one line to `path` from another process. */
async function append(path: string): Promise<void> {
  const sh = new Deno.Command("sh", { args: ["-c", `echo x >> "$1"`, "sh", path] });
  assert((await sh.output()).success);
}

Deno.test("a muted inode sends no write event until unmuted; another marked inode is not muted", async () => {
  await using dir = await tempDir();
  const [a, b] = [`${dir.path}/a`, `${dir.path}/b`];
  for (const f of [a, b]) await Deno.writeTextFile(f, "0\n");
  const group = FanotifyGroup.open();
  const writes: string[] = [];
  try {
    const ma = group.mark(a, await kernelIdOf(a), FILE_MASK)!;
    const mb = group.mark(b, await kernelIdOf(b), FILE_MASK)!;
    group.start((bytes) => {
      for (const e of parseFanotify(bytes).events) {
        if (!(e.mask & FanMask.MODIFY)) continue;
        const key = e.fids.find((f) => f.infoType === InfoType.FID)?.key;
        writes.push(key === markKey(ma) ? "a" : key === markKey(mb) ? "b" : "?");
      }
    });
    assert(group.mute(ma, FanMask.MODIFY), "mute refused");
    await append(a);
    await append(b);
    // b's event is read after a's would have been (one queue, in order).
    assert(await waitFor(() => writes.includes("b")), "no event for b");
    assertEquals(writes, ["b"], "a muted inode sent a write event");
    group.unmute(ma, FanMask.MODIFY);
    await append(a);
    assert(await waitFor(() => writes.includes("a")), "no event for a once unmuted");
  } finally {
    await group.close();
  }
});

Deno.test("a mark follows the inode, not the name: a file renamed away and unmarked by handle sends nothing more", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/f`;
  await Deno.writeTextFile(f, "0\n");
  const group = FanotifyGroup.open();
  let events = 0;
  try {
    const m = group.mark(f, await kernelIdOf(f), FILE_MASK)!;
    const id = await kernelIdOf(f);
    assertEquals(group.mark(f, { ...id, ino: 1n }, FILE_MASK), undefined, "marked another inode");
    assertEquals(
      group.mark(f, { ...id, dev: id.dev + 1 }, FILE_MASK),
      undefined,
      "marked the same number on another device",
    );
    group.start((bytes) => events += parseFanotify(bytes).events.length);
    await Deno.rename(f, `${dir.path}/g`);
    await append(`${dir.path}/g`);
    assert(await waitFor(() => events >= 2), "the renamed inode sent nothing");
    group.unmark(m);
    // Events queued before the unmark (the append's close may come after its write's) are read
    // first: only what comes after counts.
    await new Promise((r) => setTimeout(r, 100));
    const before = events;
    await append(`${dir.path}/g`);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(events, before, "an unmarked inode sent events");
  } finally {
    await group.close();
  }
});

Deno.test("a file is marked through a read fd and a FIFO never is: its blocked writer stays blocked; a file that refuses the read open (a lease) is still marked, through O_PATH", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/passwd`;
  const fifo = `${dir.path}/fifo`;
  const leased = `${dir.path}/leased`;
  await Deno.writeTextFile(file, "0\n");
  await Deno.writeTextFile(leased, "0\n");
  assert((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
  // A writer blocks in open() until some process opens the FIFO for reading.
  const writer = new Deno.Command("sh", { args: ["-c", `echo x > "$1"`, "sh", fifo] }).spawn();
  let writerWentOn = false;
  const writerDone = writer.status.then(() => writerWentOn = true);
  // A process holding a write lease: an open for reading with O_NONBLOCK gets EWOULDBLOCK.
  const holder = new Deno.Command("python3", {
    args: [
      "-c",
      // The break a reader's open starts is told by SIGIO, which would end python.
      "import fcntl,os,signal,sys,time\nsignal.signal(signal.SIGIO,signal.SIG_IGN)\n" +
      "fd=os.open(sys.argv[1],os.O_RDWR)\n" +
      "fcntl.fcntl(fd,fcntl.F_SETLEASE,fcntl.F_WRLCK)\nprint('held',flush=True)\ntime.sleep(30)",
      leased,
    ],
    stdout: "piped",
  }).spawn();
  const group = FanotifyGroup.open();
  const out = holder.stdout.getReader();
  try {
    const said = await out.read();
    // Its print may come in two reads; the first holds the word once the lease is taken.
    assert(new TextDecoder().decode(said.value).startsWith("held"), "no lease was taken");
    const writes: string[] = [];
    const mf = group.mark(file, await kernelIdOf(file), FILE_MASK, "file");
    const ml = group.mark(leased, await kernelIdOf(leased), FILE_MASK, "file");
    assert(mf && ml, "a regular file was not marked");
    assert(group.mark(fifo, await kernelIdOf(fifo), FILE_MASK, "fifo"), "the FIFO was not marked");
    group.start((bytes) => {
      for (const e of parseFanotify(bytes).events) {
        const key = e.fids.find((f) => f.infoType === InfoType.FID)?.key;
        if (e.mask & FanMask.MODIFY) writes.push(key === markKey(mf) ? "file" : "?");
      }
    });
    await append(file);
    assert(
      await waitFor(() => writes.includes("file")),
      "a file marked through its fd sent no event",
    );
    // Opened for reading, the FIFO would have let its writer through.
    await new Promise((r) => setTimeout(r, 300));
    assert(!writerWentOn, "marking the FIFO opened it for reading: its writer went on");
  } finally {
    try {
      writer.kill();
    } catch { /* it went on: the assertion above says so */ }
    await writerDone;
    try {
      holder.kill();
    } catch { /* it ended: the assertion above says why */ }
    await out.cancel();
    await holder.status;
    await group.close();
  }
});

/** The fanotify fds of this process. */
function fanotifyFds(): Set<string> {
  const out = new Set<string>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === "anon_inode:[fanotify]") out.add(e.name);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** The marks of fanotify fd `fd` as the kernel lists them: inode and mask. */
function marksOf(fd: string): string[] {
  const text = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
  return [...text.matchAll(/ ino:([0-9a-f]+) .* mask:([0-9a-f]+)/g)].map((m) => `${m[1]}:${m[2]}`)
    .sort();
}

Deno.test("markMany marks what the one-at-a-time way marks: natively and not, the same inodes, handles, masks and refusals", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.writeTextFile(`${d}/file`, "x");
  await Deno.mkdir(`${d}/dir`);
  await Deno.writeTextFile(`${d}/dir/inner`, "y");
  await Deno.symlink(`${d}/file`, `${d}/link`);
  await Deno.symlink(`${d}/nowhere`, `${d}/dangling`);
  assert((await new Deno.Command("mkfifo", { args: [`${d}/fifo`] }).output()).success);
  const sh = `printf z > "$(printf '${d}/n\\377')"`;
  assert((await new Deno.Command("sh", { args: ["-c", sh] }).output()).success);
  const odd = `${d}/n\udcff`;
  const items = [
    { path: `${d}/file`, mask: FILE_MASK, was: "file" as const },
    { path: `${d}/dir`, mask: DIR_MASK, was: "dir" as const },
    { path: `${d}/dir/inner`, mask: FILE_MASK },
    { path: `${d}/link`, mask: FILE_MASK, was: "symlink" as const },
    { path: `${d}/dangling`, mask: FILE_MASK, was: "file" as const },
    { path: `${d}/fifo`, mask: FILE_MASK, was: "fifo" as const },
    { path: odd, mask: FILE_MASK, was: "file" as const },
    // Listed as a file, a directory by now: opened for reading all the same.
    { path: `${d}/dir`, mask: FILE_MASK, was: "file" as const },
    { path: `${d}/missing`, mask: FILE_MASK, was: "file" as const },
    // No file handles on /proc: a refusal, said the same both ways.
    { path: "/proc/self/status", mask: FILE_MASK, was: "file" as const },
  ];
  assert(nativeLibraryPath(), "bpfink-native.so is built (deno run -A build.ts native)");
  const seen: { results: unknown[]; marks: string[] }[] = [];
  for (const native of [undefined, null]) {
    const before = fanotifyFds();
    const group = FanotifyGroup.open({ native });
    try {
      const fd = [...fanotifyFds()].find((f) => !before.has(f))!;
      assertEquals(group.marksNatively, native === undefined);
      const results = group.markMany(items).map((r) =>
        r instanceof FanotifyError
          ? { call: r.call, errno: r.errno }
          : r && { dev: r.st.dev, ino: r.st.ino, fs: r.marked.fs, handle: r.marked.handleKey }
      );
      seen.push({ results, marks: marksOf(fd) });
    } finally {
      await group.close();
    }
  }
  assertEquals(seen[0], seen[1]);
  const [file, dirR, , link, dangling, , oddR, , missing, proc] = seen[0].results as {
    ino?: bigint;
    call?: string;
  }[];
  assertEquals(file.ino, BigInt((await Deno.lstat(`${d}/file`)).ino!));
  assert(dirR.ino && link.ino && dangling.ino && oddR.ino, "each entry itself is marked");
  assertEquals(link.ino, BigInt((await Deno.lstat(`${d}/link`)).ino!), "a symlink's own inode");
  assertEquals(missing, undefined);
  assert(proc?.call, "/proc refuses");
  assertEquals(seen[0].marks.length, 7, seen[0].marks.join(" "));
});

Deno.test("the hashing workers' marks, placed by the fd each file is read by, mean what markMany's do: the same inodes, handles, file systems and fdinfo marks; /proc refuses the same", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const sh = `printf z > "$(printf '${d}/n\\377')"`;
  assert((await new Deno.Command("sh", { args: ["-c", sh] }).output()).success);
  const paths = [`${d}/a`, `${d}/n\udcff`, `${d}/b`, "/proc/self/status"];
  await Deno.writeTextFile(paths[0], "x");
  await Deno.writeTextFile(paths[2], "y".repeat(70_000));
  const lib = nativeLibraryPath();
  assert(lib, "bpfink-native.so is built (deno run -A build.ts native)");
  const reader = NativeReader.open(lib);
  assert(reader instanceof NativeReader, JSON.stringify(reader));
  const seen: { results: unknown[]; marks: string[] }[] = [];
  try {
    for (const by of ["markMany", "reader"]) {
      const before = fanotifyFds();
      const group = FanotifyGroup.open();
      try {
        const fd = [...fanotifyFds()].find((f) => !before.has(f))!;
        let results;
        if (by === "markMany") {
          results = group.markMany(paths.map((path) => ({ path, mask: FILE_MASK, was: "file" })));
        } else {
          const items = paths.map((path) => ({ path, keepContentUpTo: 0, mark: FILE_MASK }));
          const out = emptyResults(1, paths.length);
          await reader.read(packItems(1, items, undefined, group.fd), out);
          assert(out.marks, "the reader placed no marks");
          results = group.adopt(paths, markResultsOf(out.marks));
        }
        seen.push({
          results: results.map((r) =>
            r instanceof FanotifyError
              ? { call: r.call, errno: r.errno }
              : r && { dev: r.st.dev, ino: r.st.ino, fs: r.marked.fs, handle: r.marked.handleKey }
          ),
          marks: marksOf(fd),
        });
      } finally {
        await group.close();
      }
    }
  } finally {
    reader.close();
  }
  assertEquals(seen[1], seen[0]);
  assertEquals(seen[0].marks.length, 3, seen[0].marks.join(" "));
  assert((seen[0].results[3] as { call?: string })?.call, "/proc refuses");
});

import { assert, assertEquals } from "../../test/assert.ts";
import { run, tempDir, waitFor } from "../../test/helpers.ts";
import { buildProgram } from "../../test/inode/fixtures.ts";
import { FanotifyGroup } from "../fanotify/fanotify_group.ts";
import { FimOp } from "../kernel/fim_event.ts";
import { ANCESTOR_MASKS, AncestorMarks, type AncestorSink } from "./ancestor_marks.ts";
import type { AttributedEvent } from "./attribution.ts";
import type { InodeId } from "./inode_key.ts";
import { type KernelWatchTable, WatchSet } from "./watch_set.ts";

/** The BPF maps are not what is tested here: a table that keeps nothing. */
const NO_KERNEL: KernelWatchTable = {
  watchInode() {},
  unwatchInode() {},
  watchEntry() {},
  unwatchEntry() {},
  watchDirPath() {},
  unwatchDirPath() {},
  watchBasename() {},
  unwatchBasename() {},
};

/** What the marks fed the monitor. */
class Recorded implements AncestorSink {
  readonly events: AttributedEvent[] = [];
  readonly unseen: string[] = [];
  onKernelEvent(e: AttributedEvent): void {
    this.events.push(e);
  }
  ancestorChangedUnseen(path: string): void {
    this.unseen.push(path);
  }
  ancestorCheckedSince(): boolean {
    return false;
  }
  rescan(): void {}
}

/** A bit no kernel has: the kernel refuses a mask with it (EINVAL), as 5.10 refuses FAN_RENAME. */
const UNKNOWN_BIT = 0x80000000;

for (
  const [what, masks, want, narrow] of [
    ["FAN_RENAME", ANCESTOR_MASKS, ANCESTOR_MASKS[0], true],
    [
      "a kernel that refuses the first mask: FAN_MOVED_FROM | FAN_MOVED_TO, every entry read",
      [
        ANCESTOR_MASKS[1] | UNKNOWN_BIT,
        ANCESTOR_MASKS[1],
      ],
      ANCESTOR_MASKS[1],
      false,
    ],
  ] as const
) {
  Deno.test(`ancestor marks (${what}): an ancestor renamed through io_uring is fed with its process, other names are dropped, and the new ancestor is marked in place of the old`, async () => {
    // Not under /tmp: the directories above it are marked, and other processes make
    // directories in /tmp all the time (the count of events read is checked below).
    await using dir = await tempDir("bpfink-test-", "/var/tmp");
    const bin = await buildProgram(dir.path, "uring_ops");
    const group = FanotifyGroup.open({ native: null });
    const anc = new AncestorMarks(group, { warn: () => {}, graceMs: 20, masks, narrow });
    const watch = new WatchSet(NO_KERNEL);
    anc.follow(watch);
    const sink = new Recorded();
    anc.start(watch, sink);
    try {
      await Deno.mkdir(`${dir.path}/a/etc`, { recursive: true });
      await Deno.mkdir(`${dir.path}/a.new/etc`, { recursive: true });
      watch.add(`${dir.path}/a/etc/passwd`, "file", `${dir.path}/a/etc/passwd`);
      assertEquals(anc.mask, want);
      // a (holds "etc"), dir.path (holds "a"), and the `depth` directories above dir.path.
      const depth = dir.path.split("/").filter((c) => c).length;
      assertEquals(anc.marks, depth + 2);
      // Other files in dir.path: not read where the kernel spares only directories, else
      // read and dropped.
      assertEquals(anc.narrowed, narrow && kernelAtLeast(6, 0));
      const files = async () => {
        await Deno.writeTextFile(`${dir.path}/b`, "");
        await Deno.rename(`${dir.path}/b`, `${dir.path}/c`);
        await Deno.remove(`${dir.path}/c`);
      };
      if (anc.narrowed) {
        // The marks above dir.path are /var and / too, where other processes (a test beside
        // this one) now and then make a directory, whose events are read: a file's event
        // would be read in every try, a neighbour's in one.
        let read = 0;
        for (let tries = 0; tries < 3 && (tries === 0 || read > 0); tries++) {
          const before = anc.counts.events;
          await files();
          await new Promise((r) => setTimeout(r, 200));
          read = anc.counts.events - before;
        }
        assertEquals(read, 0, "events about files were read");
      } else {
        await files();
        assert(await waitFor(() => anc.counts.otherNames >= 2, 2000), `${anc.counts.otherNames}`);
      }
      // Another directory: read, dropped (a name's events still queued merge: 2 at least).
      const other = anc.counts.otherNames;
      await Deno.mkdir(`${dir.path}/d`);
      await Deno.rename(`${dir.path}/d`, `${dir.path}/e`);
      await Deno.remove(`${dir.path}/e`);
      assert(await waitFor(() => anc.counts.otherNames >= other + 2, 2000), "dirs not read");
      await new Promise((r) => setTimeout(r, 50));
      assertEquals(sink.events.length, 0, "an event about another name was fed");
      const r = await run([bin, "rename", `${dir.path}/a`, `${dir.path}/a.old`]);
      assertEquals(r.code, 0, r.stderr);
      assert(await waitFor(() => sink.events.length > 0, 2000), "the io_uring rename not fed");
      const e = sink.events[0];
      // The io_uring worker's process (its name too, while /proc still shows it).
      assertEquals([e.op, e.name, e.pid, e.via], [FimOp.Rename, "a", r.pid, "fanotify"]);
      // The monitor looks `a` up again: its record moves to the new inode, marked in place of
      // the old one, whose events are no longer read.
      const r2 = await run([bin, "rename", `${dir.path}/a.new`, `${dir.path}/a`]);
      assertEquals(r2.code, 0, r2.stderr);
      assert(await waitFor(() => sink.events.length >= 2, 2000), "the rename into `a` not fed");
      watch.keys.refresh([`${dir.path}/a`]);
      assertEquals(anc.marks, depth + 2);
      sink.events.length = 0;
      await Deno.rename(`${dir.path}/a.old/etc`, `${dir.path}/a.old/etc2`);
      await Deno.rename(`${dir.path}/a/etc`, `${dir.path}/a/etc2`);
      assert(await waitFor(() => sink.events.length > 0, 2000), "the rename in the new a not fed");
      await new Promise((r) => setTimeout(r, 100));
      assertEquals(watch.keys.dirPathsOf(idOf(e)), [dir.path]);
      const dirs = sink.events.map((x) => watch.keys.dirPathsOf(idOf(x)));
      assertEquals(dirs, [[`${dir.path}/a`]], "an event in the old a was fed");
      // The watch gone: no directory is above a watched path, and none stays marked.
      watch.remove(`${dir.path}/a/etc/passwd`);
      assertEquals(anc.marks, 0);
    } finally {
      await anc.stop();
    }
  });
}

/** Whether this kernel's release is `major`.`minor` or later. */
function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = Deno.osRelease().split(".").map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

function idOf(e: AttributedEvent): InodeId {
  return { dev: e.dev, ino: e.dirIno };
}

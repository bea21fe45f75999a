/**
 * Watch before read, at startup: each file's inode enters the kernel map
 * before the file's first read, not after it, and with fanotify, carries its
 * mark before that (one open names the inode and marks it): the mark covers
 * the first read too, and vouches for the inode from its first moment in the
 * map, so the mark gate stays on through a start. A kernel event about such
 * an inode that arrives before the watch set has recorded it is held, and
 * replayed once the watch set knows the inode, so a write that falls between
 * the first read and the record is re-read instead of lost.
 *
 * With the native reader, the hashing workers mark a window's regular files
 * themselves, each through the fd they read it by, before reading it
 * (workerMarks()): this thread then makes no system call per file. Such an
 * inode enters the kernel map once the start has kept what its mark means
 * (keepWorkerMarks(), one write for the window), vouched for by that mark,
 * so the kernel map's mark gate holds; between its read and then, a write
 * to it is seen by its fanotify mark alone (fed as fanotify's events are,
 * the process named from /proc).
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { type InodeId, inodeKeyString } from "./inode_key.ts";
import type { WatchSet } from "./watch_set.ts";
import { type EntryType, lstatId } from "./native_fs.ts";
import type { NativeMarkResults } from "../fanotify/native_marks.ts";

/** The kernel map operations early watching needs. */
export interface EarlyKernel {
  /**
   * Puts inodes in the map (FimKernel.watchInodesEarly); says which went in.
   * `marked`: an fsnotify mark was placed on it just now (the mark gate).
   */
  watchInodesEarly(
    items: readonly { id: InodeId; key: string; flags: number; marked?: boolean }[],
  ): boolean[];
  unwatchInode(id: InodeId): void;
}

/** Marks a path's inode before its first read (FanotifySource.markEarly). */
export interface EarlyMarks {
  /**
   * The inode marked at each path, and its key (inodeKeyString); undefined
   * where none was (the path is stat'ed instead).
   */
  markEarly(
    items: readonly { path: string; kind: "file" | "dir"; type?: EntryType }[],
  ): ({ id: InodeId; key: string } | undefined)[];
  /** Lets go of inode `id`'s mark: no path was recorded at it. */
  unwatchInode(id: InodeId): void;
  /** Handles the events queued so far (a file freed since its early mark is then known). */
  catchUp(): void;
  /** The start is over. */
  endEarly(): void;
  /** The group the hashing workers may mark regular files for (FanotifySource.workerGroup). */
  workerGroup?(): number | undefined;
  /** Whether the workers are asked to mark regular file `path`. */
  workerMayMark?(path: string): boolean;
  /** Keeps what the workers' marks of a window's files mean (FanotifySource.keepWorkerMarks). */
  keepWorkerMarks?(
    items: readonly { path: string; kind: "file" | "dir" }[],
    marks: NativeMarkResults,
  ): ({ id: InodeId; key: string } | undefined)[];
}

/** Flags of the kernel's watched map (FimWatch). */
const FLAG = { file: 1, dir: 2 } as const;

/** Most events held at once; beyond that the oldest are routed as they are. */
const MAX_HELD = 4096;

/** Inodes put in the kernel map ahead of the watch set, and the events about them. */
export class EarlyWatch {
  readonly #ids = new Map<string, InodeId>();
  #held: FimEvent[] = [];

  constructor(
    readonly kernel: EarlyKernel,
    readonly watch: WatchSet,
    readonly route: (e: FimEvent) => void,
    readonly marks?: EarlyMarks,
  ) {}

  /**
   * Puts the inodes of `items`' paths in the kernel map before the paths are
   * read (best effort), all in one batch, each marked for fanotify first
   * when there are `marks` (its fstat names the inode). The path itself
   * (never following a final symlink, as the read describes it): a
   * symlink's own inode, never its target's. `type`: what the listing said
   * the path is (only a regular file or a directory is opened for reading
   * to be marked).
   */
  before(items: readonly { path: string; kind: "file" | "dir"; type?: EntryType }[]): void {
    const batch: { id: InodeId; key: string; flags: number; marked: boolean }[] = [];
    const early = this.marks?.markEarly(items);
    for (const [i, { path, kind }] of items.entries()) {
      const m = early?.[i];
      let id = m?.id;
      if (!id) {
        try {
          const st = lstatId(path);
          if (!st) continue; // missing: the read says so
          id = { dev: kernelIdentity.deviceOf(path, st.dev), ino: st.ino };
        } catch {
          continue; // unreadable: the read says so
        }
      }
      const marked = m !== undefined;
      batch.push({ id, key: m?.key ?? inodeKeyString(id), flags: FLAG[kind], marked });
    }
    this.#enter(batch);
  }

  /**
   * Puts `batch`'s inodes in the kernel map in one write, but those already
   * there for a path or early; each one written is held as early until the
   * watch set records it.
   */
  #enter(batch: { id: InodeId; key: string; flags: number; marked: boolean }[]): void {
    const fresh = batch.filter(({ key, id }) => {
      // One inode at two paths of the window (hard links) is written once.
      if (this.#ids.has(key) || this.watch.hasInodeKey(key)) return false;
      this.#ids.set(key, id);
      return true;
    });
    const written = this.kernel.watchInodesEarly(fresh);
    fresh.forEach((b, i) => {
      // A full map: the watch set reports it when it records the path.
      if (!written[i]) this.#ids.delete(b.key);
    });
  }

  /**
   * Which of a window's `items` the hashing workers mark, each before they
   * read it, through the fd they read it by, for the group returned (those
   * are left out of before(): the worker's mark is on the inode the read
   * describes, and keepWorkerMarks() puts it in the kernel map); undefined
   * when they mark none. Only regular files (as the listing said) are theirs.
   */
  workerMarks(
    items: readonly { path: string; kind: "file" | "dir"; type?: EntryType }[],
  ): { group: number; theirs: boolean[] } | undefined {
    const group = this.marks?.workerGroup?.();
    if (group === undefined) return undefined;
    const theirs = items.map((t) =>
      t.kind === "file" && t.type === "file" && (this.marks?.workerMayMark?.(t.path) ?? false)
    );
    return { group, theirs };
  }

  /**
   * After a window the workers marked and read: keeps what their marks mean,
   * and puts the inodes they marked in the kernel map at once, vouched for by
   * those marks (one write for the window, where the watch set's record would
   * make one a file).
   */
  keepWorkerMarks(
    items: readonly { path: string; kind: "file" | "dir" }[],
    marks: NativeMarkResults,
  ): void {
    const kept = this.marks?.keepWorkerMarks?.(items, marks) ?? [];
    const batch: { id: InodeId; key: string; flags: number; marked: boolean }[] = [];
    kept.forEach((m, i) => {
      if (m) batch.push({ id: m.id, key: m.key, flags: FLAG[items[i].kind], marked: true });
    });
    this.#enter(batch);
  }

  /**
   * Before the watch set records a batch that was read: the fanotify events
   * queued so far are handled first. A file freed after its early mark took
   * the mark along, and its inode number may name the file that was read;
   * its FAN_DELETE_SELF, queued before that read, tells the marks to mark
   * the inode afresh when it is recorded.
   */
  beforeRecording(): void {
    this.marks?.catchUp();
  }

  /** Whether kernel event `e` is held (its inode is watched early but not known yet). */
  hold(e: FimEvent): boolean {
    const key = inodeKeyString({ dev: e.dev, ino: e.ino });
    if (!this.#ids.has(key) || this.watch.hasInodeKey(key)) return false;
    if (this.#held.length >= MAX_HELD) this.route(this.#held.shift()!);
    this.#held.push(e);
    return true;
  }

  /**
   * After the watch set recorded a batch of paths: replays held events whose
   * inode it knows now. With `final`, also takes inodes nobody recorded (the
   * file was replaced between the stat and the read) out of the kernel map.
   */
  settle(final = false): void {
    const held = this.#held;
    this.#held = [];
    for (const e of held) {
      if (this.watch.hasInode({ dev: e.dev, ino: e.ino })) this.route(e);
      else this.#held.push(e);
    }
    for (const [k, id] of this.#ids) {
      if (this.watch.hasInodeKey(k)) this.#ids.delete(k);
      else if (final) {
        this.kernel.unwatchInode(id);
        this.marks?.unwatchInode(id);
        this.#ids.delete(k);
      }
    }
    if (final) {
      this.#held = [];
      this.marks?.endEarly();
    }
  }
}

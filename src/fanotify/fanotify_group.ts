/**
 * One fanotify group: the fd from fanotify_init(2), inode marks placed and
 * removed by path (opened, checked by inode, then marked through that fd so
 * the mark lands on exactly that inode: a regular file or directory opened
 * for reading and marked by its fd, anything else opened O_PATH and marked
 * through /proc/self/fd), the file handle of each marked inode
 * (name_to_handle_at on the same fd: the key events carry), and a read loop
 * (fanotify_reader.ts). Closing the fd drops every mark.
 *
 * @module
 */
import { DIR_MASK, FanInit, FanMark, FILE_MASK, MAX_HANDLE_SZ } from "./fanotify_abi.ts";
import { fsidKey, handleKeyOf } from "./fanotify_records.ts";
import { cPath, CPathBuffer } from "../watch/path_bytes.ts";
import { FanotifyError, FanotifyReader } from "./fanotify_reader.ts";
import { dirname } from "node:path";
import { type EntryType, fstat, type NativeStat } from "../watch/native_fs.ts";
import type { InodeId } from "../watch/inode_key.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { MarkStatus, type NativeMarkResults, NativeMarks, NativeOpen } from "./native_marks.ts";
import { nativeLibraryPath } from "../native/native_library.ts";
import type { PumpQueueStats } from "./fd_pump.ts";
import {
  AT_EMPTY_PATH,
  lazyLibc,
  O_CLOEXEC,
  O_DIRECTORY,
  O_LARGEFILE,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
} from "../libc.ts";

export { FanotifyError };

const SYMBOLS = {
  fanotify_init: { parameters: ["u32", "u32"], result: "i32" },
  fanotify_mark: { parameters: ["i32", "u32", "u64", "i32", "buffer"], result: "i32" },
  name_to_handle_at: {
    parameters: ["i32", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  open_by_handle_at: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const { libc, errno } = lazyLibc(SYMBOLS);

// Kept buffers for the synchronous calls of a mark, each read before the next
// call: marking is per watched file, and a fresh typed array per call costs
// more than the call (see CPathBuffer).
const PATH = new CPathBuffer();
const PROC_FD = new CPathBuffer();
const HANDLE = new Uint8Array(8 + MAX_HANDLE_SZ);
const HANDLE_VIEW = new DataView(HANDLE.buffer);
const MOUNT_ID_OUT = new Uint8Array(4);
const EMPTY_PATH = new Uint8Array(1);
const STATFS_OUT = new Uint8Array(120);

/** How mark() opens a regular file, a directory, or anything else. */
const READ_FILE = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
const READ_DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
const O_PATH_FLAGS = O_PATH | O_NOFOLLOW | O_CLOEXEC;

/** File systems whose ids are kept at most (mounts come and go; past this, asked again). */
const MAX_FSIDS = 1024;

/** What `fd` is open on; undefined when fstat fails. */
function statOf(fd: number): NativeStat | undefined {
  try {
    return fstat(fd);
  } catch {
    return undefined;
  }
}

/** The reporting modes tried, best first: handles of the object and of its directory with the name, then the object's only. */
const MODES = [
  { flags: FanInit.REPORT_FID | FanInit.REPORT_DIR_FID | FanInit.REPORT_NAME, names: true },
  { flags: FanInit.REPORT_FID, names: false },
];

/**
 * What a marked path turned out to be: its file handle, without and with its
 * file system. Kept for every watched inode, so it holds no more than that:
 * the file system's id is one string shared by all of its marks.
 */
export interface Marked {
  /** fsidKey() of its file system, as fidKey() begins. */
  fs: string;
  /** handleKeyOf() of the inode. */
  handleKey: string;
}

/** fidKey() of a marked inode: what its events carry. */
export function markKey(m: Marked): string {
  return `${m.fs}:${m.handleKey}`;
}

/** One path for markMany(): what to mark it for, and what it was when listed. */
export interface MarkRequest {
  path: string;
  mask: number;
  was?: EntryType;
}

/**
 * What markMany() did with a path: marked (its fstat's device and inode, and
 * the mark), nothing there, or why the kernel refused.
 */
export type MarkResult =
  | { st: { dev: number; ino: bigint; mntId?: number }; marked: Marked }
  | undefined
  | FanotifyError;

/** A fanotify fd with its marks. */
/**
 * The most bytes of events a group's pump holds (src/fanotify/fd_pump.ts): about 300,000
 * events with file handles and names, where the kernel holds 16,384. Taken only while held.
 */
export const FANOTIFY_PUMP_BYTES = 32 * 1024 * 1024;

export class FanotifyGroup {
  readonly #fd: number;
  /** Whether directory events carry the entry's name (REPORT_DIR_FID | REPORT_NAME, 5.9+). */
  readonly names: boolean;
  /**
   * Opened with CAP_SYS_ADMIN. Without it the group is an unprivileged
   * listener: events of other processes carry pid 0.
   */
  readonly privileged: boolean;
  readonly #reader: FanotifyReader;
  #closed = false;
  /** A directory fd per file system (by fsidKey()), for open_by_handle_at when unmarking. */
  readonly #mountFds = new Map<string, number>();
  /** File system ids by themselves (Marked.fs). */
  readonly #fsNames = new Map<string, string>();
  /** File system ids by mount id and device (#fsidOf). */
  readonly #fsids = new Map<string, string>();
  /** bpfink's native marks (markMany), once asked for; null when there are none. */
  #native?: NativeMarks | null;
  /** Where they are (undefined: bpfink's own; null: none). */
  #nativePath?: string | null;

  private constructor(fd: number, names: boolean, privileged: boolean) {
    this.#fd = fd;
    this.#reader = new FanotifyReader(fd);
    this.names = names;
    this.privileged = privileged;
  }

  /**
   * Opens a notification-only group with file handle reporting (the best
   * mode this kernel has).
   *
   * `native`: the native library markMany() marks with (default bpfink's
   * own, when it has one; null for none).
   *
   * @throws {FanotifyError} when the kernel has no fanotify or refuses it (no CAP_SYS_ADMIN
   * before 5.13, a limit on groups).
   */
  static open(opts: { native?: string | null } = {}): FanotifyGroup {
    const c = libc();
    let last = 0;
    // Without CAP_SYS_ADMIN (EPERM), again as an unprivileged listener (5.13+): no unlimited
    // marks (fs.fanotify.max_user_marks bounds them), and the kernel hides other processes' pids.
    for (const privileged of [true, false]) {
      for (const m of MODES) {
        const flags = FanInit.CLASS_NOTIF | FanInit.CLOEXEC | FanInit.NONBLOCK |
          (privileged ? FanInit.UNLIMITED_MARKS : 0) | m.flags;
        const fd = c.fanotify_init(flags, O_RDONLY | O_LARGEFILE);
        if (fd >= 0) {
          const g = new FanotifyGroup(fd, m.names, privileged);
          if (opts.native !== undefined) g.#nativePath = opts.native;
          return g;
        }
        last = errno();
        if (last !== 22) break; // EINVAL: an older kernel; anything else will not change
      }
      if (last !== 1) break; // only EPERM is worth asking again unprivileged
    }
    throw new FanotifyError("fanotify_init", last);
  }

  /**
   * Marks `path` (never following a final symlink) for `mask`, and returns
   * its handle key, or undefined when it no longer is inode `id`: replaced
   * meanwhile (the caller marks what it records next), or reached through
   * another file system, where some file has the same number (a directory on
   * the way swapped for a symlink). The device is checked too: a mark on the
   * wrong inode would vouch, to the kernel's mark gate, for an inode that has
   * none, and its writes would go unseen. `was`: what the caller last read
   * at `path` (only "file" or "dir" is opened for reading, and what is
   * opened is checked against `id` before it is marked).
   *
   * @throws {FanotifyError} when the kernel refuses the mark or the handle.
   */
  mark(path: string, id: InodeId, mask: number, was?: EntryType): Marked | undefined {
    return this.#markPath(path, mask, was, (st) => kernelIdentity.isInode(st, id))?.marked;
  }

  /**
   * Marks whatever each path is now (never following a final symlink) for
   * its `mask`, and returns what was marked: its device and inode (fstat)
   * and its handle key; undefined when there is nothing at the path; the
   * error when the kernel refused the mark or the handle. The watch before
   * the first read (EarlyWatch) learns a file's inode from this fstat, so
   * the mark is on the inode before the kernel map names it. `was` as for
   * mark(). A window of paths goes to bpfink's native code in one call
   * (native_marks.ts) where it has it, else each is marked here.
   */
  markMany(items: readonly MarkRequest[]): MarkResult[] {
    const native = this.#nativeMarks();
    const results: MarkResult[] = new Array(items.length).fill(undefined);
    const one = (i: number) => {
      const { path, mask, was } = items[i];
      try {
        const r = this.#markPath(path, mask, was);
        results[i] = r && {
          st: { dev: r.st.dev, ino: r.st.ino, mntId: r.st.mntId },
          marked: r.marked,
        };
      } catch (e) {
        results[i] = e instanceof FanotifyError ? e : undefined;
      }
    };
    if (!native) {
      for (let i = 0; i < items.length; i++) one(i);
      return results;
    }
    const r = native.mark(
      this.#fd,
      items.map(({ path, mask, was }) => ({
        path,
        mask,
        how: was === "file" ? NativeOpen.File : was === "dir" ? NativeOpen.Dir : NativeOpen.Path,
      })),
    );
    return this.#resultsOf(items, r, one, results);
  }

  /**
   * What marks placed for this group elsewhere mean (the hashing workers
   * mark each file they read before reading it: native/file_reader.c), as
   * markMany() gives them; `r` says what became of the mark at each of
   * `paths` (one not tried is undefined).
   */
  adopt(paths: readonly string[], r: NativeMarkResults): MarkResult[] {
    const results: MarkResult[] = new Array(paths.length).fill(undefined);
    return this.#resultsOf(paths.map((path) => ({ path })), r, () => {}, results);
  }

  /** The group's fd, for the hashing workers to mark files for (adopt() keeps what they mark). */
  get fd(): number {
    return this.#fd;
  }

  /** `r`'s marks of `items` into `results`; `notDone(i)` for each the native code left. */
  #resultsOf(
    items: readonly { path: string }[],
    r: NativeMarkResults,
    notDone: (i: number) => void,
    results: MarkResult[],
  ): MarkResult[] {
    // The file system of the path before, by its mount and device: most windows are on one.
    let lastMnt = -1;
    let lastDev = -1;
    let lastFs = "";
    for (let i = 0; i < items.length; i++) {
      const status = r.status[i];
      if (status === MarkStatus.Nothing) continue; // results[i] stays undefined
      if (status === MarkStatus.Failed) {
        const { call, errno } = r.failure(i);
        results[i] = new FanotifyError(call, errno);
        continue;
      }
      if (status !== MarkStatus.Marked) {
        notDone(i);
        continue;
      }
      const dev = r.dev[i];
      const mntId = r.mntId[i];
      let fs = lastFs;
      if (mntId < 0 || mntId !== lastMnt || dev !== lastDev) {
        fs = this.#fsidFor(mntId < 0 ? undefined : mntId, dev, () => r.fsid(i));
        [lastMnt, lastDev, lastFs] = [mntId, dev, fs];
        if (!this.#mountFds.has(fs)) this.#keepMountFd(items[i].path, fs);
      }
      results[i] = {
        st: { dev, ino: r.ino[i], mntId: mntId < 0 ? undefined : mntId },
        marked: { fs, handleKey: r.handleKey(i) },
      };
    }
    return results;
  }

  /** Whether markMany() marks through bpfink's native code. */
  get marksNatively(): boolean {
    return this.#nativeMarks() !== null;
  }

  /** bpfink's native marks, opened the first time; null when there are none. */
  #nativeMarks(): NativeMarks | null {
    if (this.#native === undefined) {
      const path = this.#nativePath === undefined ? nativeLibraryPath() : this.#nativePath;
      const m = path == null ? null : NativeMarks.open(path);
      this.#native = m instanceof NativeMarks ? m : null;
    }
    return this.#native;
  }

  #markPath(
    path: string,
    mask: number,
    was: EntryType | undefined,
    accept?: (st: NativeStat) => boolean,
  ): { st: NativeStat; marked: Marked } | undefined {
    const c = libc();
    const cpath = PATH.of(path);
    // A regular file or a directory is marked through an fd it is opened by for reading, as its
    // read opens it: one call, where an O_PATH fd is marked by resolving /proc/self/fd/N (3 µs
    // more a file, measured). Anything else (a FIFO, a device: opening one for reading can have
    // effects) is opened O_PATH. A file not readable so (a lease, an LSM) is marked O_PATH too.
    const how = was === "file" ? READ_FILE : was === "dir" ? READ_DIR : O_PATH_FLAGS;
    let fd = c.open(cpath, how, 0);
    let byFd = how !== O_PATH_FLAGS;
    if (fd < 0 && byFd) {
      fd = c.open(cpath, O_PATH_FLAGS, 0);
      byFd = false;
    }
    if (fd < 0) return undefined;
    try {
      const st = statOf(fd);
      if (!st || (accept && !accept(st))) return undefined;
      const ids = this.#handleOf(fd, st);
      const rc = byFd
        ? c.fanotify_mark(this.#fd, FanMark.ADD, BigInt(mask), fd, null)
        : c.fanotify_mark(
          this.#fd,
          FanMark.ADD,
          BigInt(mask),
          -100,
          PROC_FD.of(`/proc/self/fd/${fd}`),
        );
      if (rc !== 0) throw new FanotifyError("fanotify_mark", errno());
      if (!this.#mountFds.has(ids.fs)) this.#keepMountFd(path, ids.fs);
      return { st, marked: { fs: this.#fsNamed(ids.fs), handleKey: ids.handleKey } };
    } finally {
      c.close(fd);
    }
  }

  /**
   * Keeps an fd on a directory of file system `fsid` (the marked
   * directory, or a marked file's own), for open_by_handle_at.
   */
  #keepMountFd(path: string, fsid: string): void {
    const c = libc();
    for (const dir of [path, dirname(path)]) {
      // Not O_PATH: open_by_handle_at refuses an O_PATH mount fd (EBADF).
      const fd = c.open(cPath(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
      if (fd < 0) continue;
      const sfs = new Uint8Array(120);
      if (c.fstatfs(fd, sfs) === 0 && fsidKey(sfs.subarray(56, 64)) === fsid) {
        this.#mountFds.set(fsid, fd);
        return;
      }
      c.close(fd);
    }
  }

  /** One string for each file system's id, whatever number of marks it has. */
  #fsNamed(fs: string): string {
    let kept = this.#fsNames.get(fs);
    if (kept === undefined) this.#fsNames.set(fs, kept = fs);
    return kept;
  }

  #handleOf(fd: number, st: NativeStat): { fs: string; handleKey: string } {
    const c = libc();
    const fh = HANDLE;
    const v = HANDLE_VIEW;
    v.setUint32(0, MAX_HANDLE_SZ, true);
    if (c.name_to_handle_at(fd, EMPTY_PATH, fh, MOUNT_ID_OUT, AT_EMPTY_PATH) !== 0) {
      throw new FanotifyError("name_to_handle_at", errno());
    }
    const n = Math.min(v.getUint32(0, true), MAX_HANDLE_SZ);
    const type = v.getInt32(4, true);
    const handle = fh.subarray(8, 8 + n);
    return { fs: this.#fsidOf(fd, st), handleKey: handleKeyOf(type, handle) };
  }

  /**
   * fsidKey() of the file system `fd` (whose fstat is `st`) is on: asked
   * once per mount and device (a mount id or a device number comes back only
   * after its mount or file system is gone, and not both at once for another).
   */
  #fsidOf(fd: number, st: NativeStat): string {
    return this.#fsidFor(st.mntId, st.dev, () => {
      const sfs = STATFS_OUT;
      if (libc().fstatfs(fd, sfs) !== 0) throw new FanotifyError("fstatfs", errno());
      return sfs.subarray(56, 64);
    });
  }

  /**
   * fsidKey() of the file system on mount `mntId` (undefined before 5.8) and
   * device `dev`: kept by both, else from `fsid()` (statfs' f_fsid).
   */
  #fsidFor(mntId: number | undefined, dev: number, fsid: () => Uint8Array): string {
    // Without a mount id (before 5.8), a device number alone may be another file system's by now.
    const key = mntId === undefined ? undefined : `${mntId}:${dev}`;
    const known = key === undefined ? undefined : this.#fsids.get(key);
    if (known !== undefined) return known;
    const fs = this.#fsNamed(fsidKey(fsid()));
    if (key === undefined) return fs;
    if (this.#fsids.size >= MAX_FSIDS) this.#fsids.clear();
    this.#fsids.set(key, fs);
    return fs;
  }

  /**
   * Removes the mark of the inode with `handle` (from mark()), found by its
   * handle: its path may be gone. An inode that no longer exists has lost
   * its mark already. `mask`: every bit the mark may hold (default: what
   * FILE_MASK and DIR_MASK hold; a bit this kernel does not know fails the
   * call with EINVAL).
   */
  unmark(m: Marked, mask: number = FILE_MASK | DIR_MASK): void {
    this.#markByHandle(m, FanMark.REMOVE, mask);
  }

  /**
   * Mutes `mask` events of marked inode `m` in the kernel until unmute():
   * the fanotify twin of the BPF object's pending flag, so a flood of writes
   * costs one event. The bits leave the mark's mask (not an ignored mask), so
   * the inode's fsnotify mask drops them and its writes skip fsnotify's
   * walk. The mark keeps its other bits. Returns whether the kernel took it.
   */
  mute(m: Marked, mask: number): boolean {
    return this.#markByHandle(m, FanMark.REMOVE, mask);
  }

  /** Undoes mute(): the next such event is reported again. */
  unmute(m: Marked, mask: number): void {
    this.#markByHandle(m, FanMark.ADD, mask);
  }

  /**
   * Sets (`add`) or clears `mask` in the ignore mask of marked inode `m`
   * that spares directories (FAN_MARK_IGNORE, 6.0+): a directory marked for
   * entry events with FAN_ONDIR then hears of subdirectories' entries only.
   * Returns whether the kernel took it (false before 6.0).
   */
  ignoreNonDirs(m: Marked, mask: number, add: boolean): boolean {
    const flags = add
      ? FanMark.ADD | FanMark.IGNORE | FanMark.IGNORED_SURV_MODIFY
      : FanMark.REMOVE | FanMark.IGNORE;
    return this.#markByHandle(m, flags, mask);
  }

  /** fanotify_mark() on the inode with handle `m`, opened by handle (its path may be gone). */
  #markByHandle(m: Marked, flags: number, mask: number): boolean {
    const c = libc();
    const [typeStr, handleHex] = m.handleKey.split(":");
    const mfd = this.#mountFds.get(m.fs);
    if (mfd === undefined) return false;
    const n = Math.min(handleHex.length / 2, MAX_HANDLE_SZ);
    const fh = HANDLE;
    for (let i = 0; i < n; i++) fh[8 + i] = parseInt(handleHex.slice(2 * i, 2 * i + 2), 16);
    HANDLE_VIEW.setUint32(0, n, true);
    HANDLE_VIEW.setInt32(4, Number(typeStr), true);
    const fd = c.open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
    if (fd < 0) return false; // ESTALE: gone, and its mark with it
    try {
      const proc = PROC_FD.of(`/proc/self/fd/${fd}`);
      return c.fanotify_mark(this.#fd, flags, BigInt(mask), -100, proc) === 0;
    } finally {
      c.close(fd);
    }
  }

  /**
   * Reads events until close(): `onBytes` gets the bytes of each read (its
   * own copy). A pump whose queue holds `pumpBytes` reads them off the main
   * thread (FanotifyReader.start; 0: none).
   */
  start(onBytes: (bytes: Uint8Array) => void, pumpBytes = FANOTIFY_PUMP_BYTES): void {
    if (this.#closed) return;
    this.#reader.start(onBytes, pumpBytes);
  }

  /** The pump's queue (FanotifyReader.pumpQueue). */
  get pumpQueue(): PumpQueueStats {
    return this.#reader.pumpQueue;
  }

  /** Handles the events queued now, at once (FanotifyReader.drain); whether it read them all. */
  drain(): boolean {
    return this.#reader.drain();
  }

  /** Resolves when reading stopped; rejects when it failed. */
  get done(): Promise<void> {
    return this.#reader.done;
  }

  /** Closes an fd the kernel passed with an event. */
  static closeFd(fd: number): void {
    if (fd >= 0) libc().close(fd);
  }

  /** Stops reading and closes the group (its marks go with it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader.stop();
    const c = libc();
    for (const fd of this.#mountFds.values()) c.close(fd);
    this.#mountFds.clear();
    c.close(this.#fd);
    this.#native?.close();
    this.#native = null;
  }
}

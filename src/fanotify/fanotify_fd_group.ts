/**
 * A classic fanotify group, for files whose file system refuses marks by
 * file handle (no fsid, no export operations): no handles, each event
 * carries an fd the kernel opened on the object, and the object is told by
 * fstat() of that fd (closed at once). Such a group reports content only
 * (FD_FILE_MASK: FAN_MODIFY, FAN_CLOSE_WRITE), and only to CAP_SYS_ADMIN.
 * Only regular files are marked, so opening the event's fd never blocks
 * (a FIFO) or reaches a device.
 *
 * @module
 */
import { FanInit, FanMark, FanMask, FD_FILE_MASK } from "./fanotify_abi.ts";
import { FanotifyError, FanotifyReader } from "./fanotify_reader.ts";
import { CPathBuffer } from "../watch/path_bytes.ts";
import { fstat, type NativeStat } from "../watch/native_fs.ts";
import { type InodeId, inodeKeyString } from "../watch/inode_key.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import {
  lazyLibc,
  O_CLOEXEC,
  O_LARGEFILE,
  O_NOATIME,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
} from "../libc.ts";

const SYMBOLS = {
  fanotify_init: { parameters: ["u32", "u32"], result: "i32" },
  fanotify_mark: { parameters: ["i32", "u32", "u64", "i32", "buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const { libc, errno } = lazyLibc(SYMBOLS);

/** CAP_FOWNER: O_NOATIME on a file the agent does not own needs it. */
const CAP_FOWNER = 3n;

/** Kept path buffers for the synchronous calls of a mark (see CPathBuffer). */
const PATH = new CPathBuffer();
const PROC_FD = new CPathBuffer();

/** The inode key of an fd (its fstat), and whether it is a regular file. */
function identityOf(fd: number): { key: string; st: NativeStat; regular: boolean } | undefined {
  try {
    const st = fstat(fd);
    return { key: inodeKeyString(st), st, regular: st.type === "file" };
  } catch {
    return undefined;
  }
}

/** Whether this process may open any file with O_NOATIME. */
function hasFowner(): boolean {
  try {
    const m = /^CapEff:\s+([0-9a-f]+)/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return !!m && ((BigInt(`0x${m[1]}`) >> CAP_FOWNER) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** A fanotify group whose events carry fds, with inode marks on regular files. */
export class FanotifyFdGroup {
  readonly #fd: number;
  readonly #reader: FanotifyReader;
  #closed = false;

  private constructor(fd: number, onLost: (errno: number) => void) {
    this.#fd = fd;
    // A read fails when the kernel could not open the event's file: that event is gone.
    this.#reader = new FanotifyReader(fd, (err) => {
      onLost(err);
      return true;
    });
  }

  /**
   * Opens the group; `onLost` hears of each event the kernel dropped
   * because it could not open its file (read(2) failed with `errno`).
   *
   * @throws {FanotifyError} without CAP_SYS_ADMIN (EPERM), or at a limit on groups.
   */
  static open(onLost: (errno: number) => void): FanotifyFdGroup {
    const flags = FanInit.CLASS_NOTIF | FanInit.CLOEXEC | FanInit.NONBLOCK |
      FanInit.UNLIMITED_MARKS;
    // The fds never leak into a child, and reading the file leaves its atime alone when allowed.
    const fdFlags = O_RDONLY | O_LARGEFILE | O_CLOEXEC | (hasFowner() ? O_NOATIME : 0);
    const fd = libc().fanotify_init(flags, fdFlags);
    if (fd < 0) throw new FanotifyError("fanotify_init", errno());
    return new FanotifyFdGroup(fd, onLost);
  }

  /**
   * Marks regular file `path` (never following a final symlink) for `mask`
   * (a part of FD_FILE_MASK: less what is muted) if it still
   * is inode `id` (device and number, as FanotifyGroup.mark checks); returns
   * the key its events' fds will give (identityOf), or undefined when it is
   * another inode or not a regular file.
   *
   * @throws {FanotifyError} when the kernel refuses the mark.
   */
  mark(path: string, id: InodeId, mask = FD_FILE_MASK): string | undefined {
    return this.#markPath(path, id, FanMark.ADD, mask);
  }

  /** Removes the mark of `path` if it still is inode `id` (else the mark goes with the inode). */
  unmark(path: string, id: InodeId): void {
    try {
      this.#markPath(path, id, FanMark.REMOVE, FD_FILE_MASK);
    } catch {
      // not marked, or gone
    }
  }

  #markPath(path: string, want: InodeId, flags: number, mask: number): string | undefined {
    const c = libc();
    const fd = c.open(PATH.of(path), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) return undefined;
    try {
      const id = identityOf(fd);
      if (!id || !id.regular || !kernelIdentity.isInode(id.st, want)) return undefined;
      const rc = c.fanotify_mark(
        this.#fd,
        flags,
        BigInt(mask),
        -100,
        PROC_FD.of(`/proc/self/fd/${fd}`),
      );
      if (rc !== 0) throw new FanotifyError("fanotify_mark", errno());
      return id.key;
    } finally {
      c.close(fd);
    }
  }

  /** The key (as mark() returned) of the file an event's `fd` is open on; closes `fd`. */
  static takeFd(fd: number): string | undefined {
    try {
      return FanotifyFdGroup.keyOf(fd);
    } finally {
      FanotifyFdGroup.closeFd(fd);
    }
  }

  /** The key (as mark() returned) of the file an event's `fd` is open on; `fd` stays open. */
  static keyOf(fd: number): string | undefined {
    return fd < 0 ? undefined : identityOf(fd)?.key;
  }

  /** Closes an fd an event carried. */
  static closeFd(fd: number): void {
    if (fd >= 0) libc().close(fd);
  }

  /**
   * Mutes `mask` events (FAN_MODIFY alone: the mark must keep a bit, or it
   * goes, and with it the mark the BPF object's gate relies on) of the file
   * an event's `fd` is open on, until unmute() through the same fd: it is
   * reached by that fd, whatever its path has become. Returns whether the
   * kernel took it.
   */
  mute(fd: number, mask: number): boolean {
    return this.#markFd(fd, FanMark.REMOVE, mask & FanMask.MODIFY);
  }

  /** Undoes mute(): the file's next such event is reported again. */
  unmute(fd: number, mask: number): void {
    this.#markFd(fd, FanMark.ADD, mask & FanMask.MODIFY);
  }

  #markFd(fd: number, flags: number, mask: number): boolean {
    if (!mask || this.#closed) return false;
    const proc = PROC_FD.of(`/proc/self/fd/${fd}`);
    return libc().fanotify_mark(this.#fd, flags, BigInt(mask), -100, proc) === 0;
  }

  /** Reads events until close(): `onBytes` gets the bytes of each read (its own copy). */
  start(onBytes: (bytes: Uint8Array) => void): void {
    if (!this.#closed) this.#reader.start(onBytes);
  }

  /** Resolves when reading stopped; rejects when it failed. */
  get done(): Promise<void> {
    return this.#reader.done;
  }

  /** Stops reading and closes the group (its marks go with it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader.stop();
    libc().close(this.#fd);
  }
}

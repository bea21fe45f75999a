/**
 * The file system calls bpfink needs and Deno does not give: byte-exact
 * paths (names that are not UTF-8), nanosecond timestamps (statx), the file
 * type without following symlinks, directory listings with inode and type
 * (getdents64), opening without blocking (O_NONBLOCK | O_NOFOLLOW, checked by
 * fstat after open) and the file system type (fstatfs), so that a FIFO, a
 * device or a /proc file swapped in for a watched file is never read as
 * content. Reads run off the event loop (FFI nonblocking calls).
 *
 * @module
 */
import { CPathBuffer, decodePathBytes } from "./path_bytes.ts";
import { Errno } from "../errno.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  lazyLibc,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
} from "../libc.ts";

const SYMBOLS = {
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  read_here: { name: "read", parameters: ["i32", "buffer", "usize"], result: "isize" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const { libc, errno } = lazyLibc(SYMBOLS);

const STATX_BASIC_STATS = 0x7ff;
/** stx_mnt_id (5.8+): the mount's id, as /proc/self/mountinfo's first field. */
const STATX_MNT_ID = 0x1000;
const STATX_BTIME = 0x800;
const STATX_MASK = STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID;

// Kept buffers for the synchronous calls below, each read before the next
// call (see CPathBuffer: a fresh typed array per call costs more than the call).
const PATH = new CPathBuffer();
const STATX_OUT = new Uint8Array(256);
const EMPTY_PATH = new Uint8Array(1);
const STATFS_OUT = new Uint8Array(120);
const STATFS_VIEW = new DataView(STATFS_OUT.buffer);
const LINK_OUT = new Uint8Array(4096);
const DENTS_OUT = new Uint8Array(64 * 1024);
const DENTS_VIEW = new DataView(DENTS_OUT.buffer);

/** A failed call, with its errno. */
export class NativeFsError extends Error {
  constructor(readonly call: string, readonly path: string, readonly errno: number) {
    super(`${call}: ${ERRNO_TEXT[errno] ?? `errno ${errno}`}`);
    this.name = "NativeFsError";
  }
  /** Whether the path (or a directory on the way) does not exist. */
  get missing(): boolean {
    return isMissing(this.errno);
  }
}

/**
 * Whether `errno` says the path (or a directory on the way) does not exist. Asked before
 * any NativeFsError is made: a path gone is an answer, not an error, and an Error's stack
 * trace cost more than the statx itself where a listing looked up thousands of names gone
 * under a churn.
 */
function isMissing(errno: number): boolean {
  return errno === Errno.ENOENT || errno === Errno.ENOTDIR;
}

/** After `call` on `path` failed: undefined when the path is gone, else the NativeFsError. */
function goneOrThrow(call: string, path: string): undefined {
  const e = errno();
  if (isMissing(e)) return undefined;
  throw new NativeFsError(call, path, e);
}

const ERRNO_TEXT: Record<number, string> = {
  1: "operation not permitted",
  2: "no such file or directory",
  5: "I/O error",
  6: "no such device or address",
  13: "permission denied",
  20: "not a directory",
  21: "is a directory",
  24: "too many open files",
  36: "file name too long",
  40: "too many levels of symbolic links",
};

/** What a file is, from st_mode. */
export type EntryType = "file" | "dir" | "symlink" | "fifo" | "socket" | "chardev" | "blockdev";

/** The entry types by a small code (packed states keep the code); code 0 is "not known". */
export const ENTRY_TYPES: readonly (EntryType | undefined)[] = [
  undefined,
  "file",
  "dir",
  "symlink",
  "fifo",
  "socket",
  "chardev",
  "blockdev",
];

/** ENTRY_TYPES' code of each entry type. */
export const ENTRY_TYPE_CODE: ReadonlyMap<EntryType | undefined, number> = new Map(
  ENTRY_TYPES.map((t, i) => [t, i]),
);

/** The entry type of an st_mode. */
export function typeOfMode(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "dir";
    case 0o120000:
      return "symlink";
    case 0o010000:
      return "fifo";
    case 0o140000:
      return "socket";
    case 0o020000:
      return "chardev";
    default:
      return "blockdev";
  }
}

/** statx() of one entry, timestamps in nanoseconds. */
export interface NativeStat {
  /** Kernel dev_t (major << 20 | minor). */
  dev: number;
  ino: bigint;
  mode: number;
  type: EntryType;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Device number for character and block devices (major << 20 | minor). */
  rdev: number;
  /** The id of the mount it was reached through (mountinfo's first field); undefined before 5.8. */
  mntId?: number;
  /**
   * Birth time in nanoseconds, when the file system keeps one (ext4, xfs,
   * btrfs, tmpfs): a file removed and made again under its name can get the
   * freed inode number back at once (ext4), never the old birth time.
   */
  btimeNs?: bigint;
  /**
   * The low bits of stx_attributes: the inode flags statx reports with no
   * call of its own (STATX_ATTR_IMMUTABLE 0x10, STATX_ATTR_APPEND 0x20, ...).
   */
  attributes: number;
}

/** struct statx's stx_dev_major and stx_dev_minor, as the kernel encodes a device. */
function statxDev(v: DataView): number {
  return ((v.getUint32(136, true) << 20) | v.getUint32(140, true)) >>> 0;
}

function decodeStatx(b: Uint8Array): NativeStat {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ts = (off: number) =>
    v.getBigInt64(off, true) * 1_000_000_000n + BigInt(v.getUint32(off + 8, true));
  const mode = v.getUint16(28, true);
  return {
    nlink: v.getUint32(16, true),
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode,
    type: typeOfMode(mode),
    ino: v.getBigUint64(32, true),
    size: Number(v.getBigUint64(40, true)),
    ctimeNs: ts(96),
    mtimeNs: ts(112),
    rdev: ((v.getUint32(128, true) << 20) | v.getUint32(132, true)) >>> 0,
    dev: statxDev(v),
    mntId: v.getUint32(0, true) & STATX_MNT_ID ? Number(v.getBigUint64(144, true)) : undefined,
    btimeNs: v.getUint32(0, true) & STATX_BTIME ? ts(80) : undefined,
    attributes: v.getUint32(8, true),
  };
}

/** lstat(path) with ns timestamps; undefined when the path does not exist. */
export function lstat(path: string): NativeStat | undefined {
  const buf = STATX_OUT;
  if (libc().statx(AT_FDCWD, PATH.of(path), AT_SYMLINK_NOFOLLOW, STATX_MASK, buf) === 0) {
    return decodeStatx(buf);
  }
  return goneOrThrow("statx", path);
}

/**
 * The device (kernel encoding) and inode number of `path` itself (a final
 * symlink not followed), as lstat() gives them without decoding the rest;
 * undefined when the path does not exist.
 */
export function lstatId(path: string): { dev: number; ino: bigint } | undefined {
  const buf = STATX_OUT;
  if (libc().statx(AT_FDCWD, PATH.of(path), AT_SYMLINK_NOFOLLOW, STATX_MASK, buf) === 0) {
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return { dev: statxDev(v), ino: v.getBigUint64(32, true) };
  }
  return goneOrThrow("statx", path);
}

/** fstat(fd) with ns timestamps. */
export function fstat(fd: number): NativeStat {
  const buf = STATX_OUT;
  if (libc().statx(fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_MASK, buf) !== 0) {
    throw new NativeFsError("fstat", `fd ${fd}`, errno());
  }
  return decodeStatx(buf);
}

/** The target of symlink `path` (lossless string), undefined when it is gone. */
export function readlink(path: string): string | undefined {
  const buf = LINK_OUT;
  const n = Number(libc().readlink(PATH.of(path), buf, BigInt(buf.length)));
  if (n < 0) return goneOrThrow("readlink", path);
  return decodePathBytes(buf.subarray(0, n));
}

/** File systems whose files are not content (generated by the kernel on read). */
const PSEUDO_FS: Record<string, string> = {
  "9fa0": "proc",
  "62656572": "sysfs",
  "64626720": "debugfs",
  "74726163": "tracefs",
  "73636673": "securityfs",
  "27e0eb": "cgroup",
  "63677270": "cgroup2",
  "cafe4a11": "bpf",
  "62656570": "configfs",
  "6165676c": "pstore",
  "de5e81e4": "efivarfs",
};

/**
 * The pseudo file system `fd` lives on ("proc", "sysfs", ...), or undefined
 * for real ones. `dev` (its fstat's, kernel encoding), when given, spares the
 * question for a file system on a block device: a pseudo file system has an
 * anonymous device, major 0, as every file system without a device has.
 */
export function pseudoFsOf(fd: number, dev?: number): string | undefined {
  if (dev !== undefined && dev >>> 20 !== 0) return undefined;
  const magic = fsMagicOf(fd);
  return magic === undefined ? undefined : PSEUDO_FS[magic.toString(16)];
}

/** The statfs f_type (low 32 bits) of the file system `fd` lives on; undefined when fstatfs fails. */
function fsMagicOf(fd: number): number | undefined {
  if (libc().fstatfs(fd, STATFS_OUT) !== 0) return undefined;
  return Number(STATFS_VIEW.getBigInt64(0, true) & 0xffffffffn);
}

/** The magic numbers (statfs f_type, low 32 bits) of the pseudo file systems pseudoFsOf() names. */
export const PSEUDO_FS_MAGICS: readonly number[] = Object.keys(PSEUDO_FS).map((k) =>
  parseInt(k, 16)
);

/**
 * File systems on which a read of a file's cached pages cannot be held up by
 * anyone but the kernel (no daemon or network answers it): ext2/3/4, XFS,
 * Btrfs, F2FS and tmpfs, by statfs magic.
 */
const LOCAL_FS = new Set([0xef53, 0x58465342, 0x9123683e, 0xf2f52010, 0x01021994]);

/** Whether `fd` lives on one of LOCAL_FS's file systems (not FUSE, NFS or another). */
export function onLocalFs(fd: number): boolean {
  const magic = fsMagicOf(fd);
  return magic !== undefined && LOCAL_FS.has(magic);
}

/**
 * An open regular file, read off the event loop; or, `onThisThread`, with
 * blocking reads on the calling thread (a worker's, which has nothing else to do).
 */
export class RegularFile implements Disposable {
  #fd: number;
  constructor(fd: number, readonly stat: NativeStat, readonly onThisThread = false) {
    this.#fd = fd;
  }
  /** fstat() of the open file now (after a read: did it change meanwhile?). */
  restat(): NativeStat {
    return fstat(this.#fd);
  }
  /**
   * Reads into `buf`; the byte count, 0 at end of file. With `onThisThread`
   * a number, not a promise: awaiting one would still give the turn to every
   * microtask queued before it.
   */
  read(buf: Uint8Array<ArrayBuffer>): number | Promise<number> {
    if (this.onThisThread) return checkedCount(libc().read_here(this.#fd, buf, BigInt(buf.length)));
    return libc().read(this.#fd, buf, BigInt(buf.length)).then(checkedCount);
  }
  [Symbol.dispose](): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

/** A read(2)'s result as a byte count; throws on failure. */
function checkedCount(n: number | bigint): number {
  if (Number(n) < 0) throw new Error("read failed");
  return Number(n);
}

/** Why a path was not opened for reading. */
export class NotContentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotContentError";
  }
}

/**
 * Opens `path` for reading only if it is a regular file on a real file
 * system. O_NONBLOCK: opening a FIFO never waits for a writer. O_NOFOLLOW:
 * a symlink swapped in is never followed. fstat after open: what was opened
 * is what is read (a swap between lstat and open is caught). Throws
 * NotContentError for anything else, NativeFsError when the open fails.
 * `onThisThread` may be decided from the open file (its fd and fstat).
 */
export function openRegular(
  path: string,
  onThisThread: boolean | ((fd: number, st: NativeStat) => boolean) = false,
): RegularFile {
  const fd = libc().open(
    PATH.of(path),
    O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
    0,
  );
  if (fd < 0) {
    const e = errno();
    if (e === Errno.ELOOP) throw new NotContentError("is a symlink: not followed");
    throw new NativeFsError("open", path, e);
  }
  try {
    const st = fstat(fd);
    if (st.type !== "file") throw new NotContentError(`is a ${st.type}: not read`);
    const pseudo = pseudoFsOf(fd, st.dev);
    if (pseudo) throw new NotContentError(`is on ${pseudo}, a pseudo file system: not read`);
    return new RegularFile(
      fd,
      st,
      typeof onThisThread === "boolean" ? onThisThread : onThisThread(fd, st),
    );
  } catch (e) {
    libc().close(fd);
    throw e;
  }
}

/** One directory entry as getdents64 gives it. */
export interface DirEntry {
  /** Lossless name (see path_bytes.ts). */
  name: string;
  ino: bigint;
  /** From d_type; undefined when the file system does not say (DT_UNKNOWN). */
  type?: EntryType;
}

const DT: Record<number, EntryType> = {
  1: "fifo",
  2: "chardev",
  4: "dir",
  6: "blockdev",
  8: "file",
  10: "symlink",
  12: "socket",
};

/** Lists directory `path` (without . and ..); undefined when it is gone. */
export function listDir(path: string): DirEntry[] | undefined {
  const fd = libc().open(PATH.of(path), O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0) {
    const e = errno();
    if (isMissing(e) || e === Errno.ELOOP) return undefined;
    throw new NativeFsError("open", path, e);
  }
  try {
    const out: DirEntry[] = [];
    const buf = DENTS_OUT;
    const v = DENTS_VIEW;
    for (;;) {
      const n = Number(libc().getdents64(fd, buf, BigInt(buf.length)));
      if (n < 0) throw new NativeFsError("getdents64", path, errno());
      if (n === 0) break;
      for (let off = 0; off < n;) {
        const ino = v.getBigUint64(off, true);
        const reclen = v.getUint16(off + 16, true);
        const dtype = buf[off + 18];
        let end = off + 19;
        while (end < off + reclen && buf[end] !== 0) end++;
        const raw = buf.subarray(off + 19, end);
        off += reclen;
        if (
          (raw.length === 1 && raw[0] === 46) ||
          (raw.length === 2 && raw[0] === 46 && raw[1] === 46)
        ) {
          continue;
        }
        out.push({ name: decodePathBytes(raw), ino, type: DT[dtype] });
      }
    }
    return out;
  } finally {
    libc().close(fd);
  }
}

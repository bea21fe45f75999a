/**
 * Marking a file through an fd already open on it: the reader that opens a
 * file to hash it marks it first, on that fd, in two system calls
 * (fanotify_mark on the fd, name_to_handle_at for the handle its events will
 * carry). The fd names exactly the inode that is read, so no path is looked
 * up again and no identity needs checking. Used by the startup read's
 * workers (hash_worker.ts) and by FanotifyGroup for its file handles.
 *
 * @module
 */
import { FanMark, MAX_HANDLE_SZ } from "./fanotify_abi.ts";
import { fsidKey, handleKeyOf } from "./fanotify_records.ts";
import { FanotifyError } from "./fanotify_reader.ts";
import { AT_EMPTY_PATH, lazyLibc } from "../libc.ts";

const SYMBOLS = {
  fanotify_mark: { parameters: ["i32", "u32", "u64", "i32", "buffer"], result: "i32" },
  name_to_handle_at: {
    parameters: ["i32", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const { libc, errno } = lazyLibc(SYMBOLS);

// Kept buffers, each read before the next call (one thread each: a worker has its own).
const HANDLE = new Uint8Array(8 + MAX_HANDLE_SZ);
const HANDLE_VIEW = new DataView(HANDLE.buffer);
const MOUNT_ID_OUT = new Uint8Array(4);
const EMPTY_PATH = new Uint8Array(1);
const STATFS_OUT = new Uint8Array(120);

/** A marked inode as its events name it. */
export interface Marked {
  /** fsidKey() of its file system, as fidKey() begins. */
  fs: string;
  /** handleKeyOf() of the inode. */
  handleKey: string;
}

/** What a reader marks the files it opens with: the group's fd and the mask. */
export interface OpenFileMarkSpec {
  group: number;
  mask: number;
}

/**
 * The file handle of open `fd` and its file system's id. `fsids`, when
 * given, keeps each device's id (`dev`: the fd's st_dev), so a file on a
 * known device costs one system call, not two.
 *
 * @throws {FanotifyError} when the kernel gives no handle or no file system id.
 */
export function handleOfFd(fd: number, fsids?: Map<number, string>, dev?: number): Marked {
  const c = libc();
  HANDLE_VIEW.setUint32(0, MAX_HANDLE_SZ, true);
  if (c.name_to_handle_at(fd, EMPTY_PATH, HANDLE, MOUNT_ID_OUT, AT_EMPTY_PATH) !== 0) {
    throw new FanotifyError("name_to_handle_at", errno());
  }
  const n = Math.min(HANDLE_VIEW.getUint32(0, true), MAX_HANDLE_SZ);
  const handleKey = handleKeyOf(HANDLE_VIEW.getInt32(4, true), HANDLE.subarray(8, 8 + n));
  let fs = dev === undefined ? undefined : fsids?.get(dev);
  if (fs === undefined) {
    if (c.fstatfs(fd, STATFS_OUT) !== 0) throw new FanotifyError("fstatfs", errno());
    fs = fsidKey(STATFS_OUT.subarray(56, 64));
    if (dev !== undefined) fsids?.set(dev, fs);
  }
  return { fs, handleKey };
}

/** File system ids by device, for this thread's marks. */
const FSIDS = new Map<number, string>();

/**
 * Marks the file open at `fd` (device `dev`, its st_dev) in `spec.group`
 * for `spec.mask`; what its events will name it by, or undefined when the
 * kernel refused (the caller's watch then marks it the usual way, which
 * knows every fallback).
 */
export function markOpenFile(spec: OpenFileMarkSpec, fd: number, dev: number): Marked | undefined {
  if (libc().fanotify_mark(spec.group, FanMark.ADD, BigInt(spec.mask), fd, null) !== 0) {
    return undefined;
  }
  try {
    return handleOfFd(fd, FSIDS, dev);
  } catch {
    return undefined;
  }
}

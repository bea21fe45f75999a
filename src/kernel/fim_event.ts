/**
 * Decodes `struct fim_event` from ring buffer bytes. bpf/fim_event.h is the
 * source of truth; this file mirrors its offsets and constants, and
 * test/fim_event_layout_test.ts checks the mirror against the header compiled
 * by the C compiler.
 *
 * @module
 */
import { decodePathBytes } from "../watch/path_bytes.ts";

/** What the kernel saw (enum fim_op). */
export enum FimOp {
  Write = 1,
  Truncate = 2,
  Rename = 3,
  Unlink = 4,
  Create = 5,
  PathTruncate = 6,
  Attrib = 7,
  PathAttrib = 8,
  Link = 9,
  MmapWrite = 10,
  DirEntry = 11,
  Xattr = 12,
  PathXattr = 13,
  NewEntry = 14,
  Mount = 15,
}

/** Value flags of the kernel's watch map (`FIM_WATCH_*` in bpf/fim_event.h). */
export enum FimWatch {
  /** A watched file inode. */
  File = 1,
  /** A watched directory inode (its entries are reported by name). */
  Dir = 2,
  /**
   * A recursively watched directory: a path through its subdirectories that
   * the kernel does not know yet is placed on it (bpf/fim_dir_match.bpf.h).
   */
  Tree = 4,
}

/** dev of events about no inode: a path the kernel could not place (ino = basename hash). */
export const FIM_DEV_UNPLACED = 0xffffffff;
/** dev of the pending key of mount events. */
export const FIM_DEV_MOUNT = 0xfffffffe;

/** Byte offsets of struct fim_event members. */
export const FIM_EVENT_LAYOUT = {
  ts_ns: 0,
  ino: 8,
  dir_ino: 16,
  cgroup_id: 24,
  dev: 32,
  op: 36,
  pid: 40,
  tgid: 44,
  ppid: 48,
  uid: 52,
  euid: 56,
  auid: 60,
  syscall_nr: 64,
  name_len: 68,
  exe_len: 70,
  comm: 72,
  start_ns: 88,
  exe_ino: 96,
  tail: 104,
  size: 424,
} as const;

/** FIM_NAME_LEN: a name of up to 255 bytes (and room for a NUL in the kernel's copy). */
export const FIM_NAME_LEN = 256;
/** FIM_EXE_LEN: an executable's basename of up to 63 bytes (and room for a NUL). */
export const FIM_EXE_LEN = 64;
/**
 * FIM_EVENT_HEAD_SIZE: an event's bytes before its executable's basename and
 * its name, which take only the bytes they have.
 */
export const FIM_EVENT_HEAD_SIZE = FIM_EVENT_LAYOUT.tail;

/**
 * Bytes one event takes in the ring buffer: its record (8-byte aligned) and
 * the record's 8-byte header.
 */
export function ringRecordBytes(exeLen: number, nameLen: number): number {
  return 8 + Math.ceil((FIM_EVENT_HEAD_SIZE + exeLen + nameLen) / 8) * 8;
}

/** One decoded kernel event. */
export interface FimEvent {
  /** CLOCK_MONOTONIC nanoseconds at the probe. */
  tsNs: bigint;
  /**
   * The inode the event is about; in a name event, the inode an open(O_CREAT)
   * put at the name (FimOp.Create from the BPF object), else 0.
   */
  ino: bigint;
  dirIno: bigint;
  cgroupId: bigint;
  /** Kernel dev_t (major << 20 | minor). */
  dev: number;
  op: FimOp;
  pid: number;
  tgid: number;
  ppid: number;
  uid: number;
  euid: number;
  /** Login uid; undefined when unset. */
  auid?: number;
  syscallNr: number;
  comm: string;
  /** The entry's name for name events (lossless, see path_bytes.ts), else "". */
  name: string;
  /** Basename of the executable (unlike comm, the process cannot change it). */
  exe: string;
  /** Process start in boot-time ns: with tgid, names one process even after its pid is reused. */
  startNs: bigint;
  /**
   * Inode number of the executable the process ran when it made the change
   * (0n: none, a kernel thread); absent when the event was not the kernel's.
   * /proc/PID/exe describes the writer only while it names that file.
   */
  exeIno?: bigint;
  /** Made from a fanotify event (src/watch/fanotify_source.ts), not by the BPF object. */
  via?: "fanotify";
}

const decoder = new TextDecoder();

function rawName(bytes: Uint8Array, off: number, len: number): string {
  const s = bytes.subarray(off, off + len);
  const end = s.indexOf(0);
  return decodePathBytes(end < 0 ? s : s.subarray(0, end));
}

function cString(bytes: Uint8Array, off: number, len: number): string {
  const s = bytes.subarray(off, off + len);
  const end = s.indexOf(0);
  return decoder.decode(end < 0 ? s : s.subarray(0, end));
}

/**
 * Decodes one sample; returns undefined when it is shorter than the event's
 * own lengths say (never from the kernel: a record is exactly that long).
 */
export function decodeFimEvent(bytes: Uint8Array): FimEvent | undefined {
  const L = FIM_EVENT_LAYOUT;
  if (bytes.length < FIM_EVENT_HEAD_SIZE) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const exeLen = v.getUint16(L.exe_len, true);
  const nameLen = v.getUint16(L.name_len, true);
  if (exeLen >= FIM_EXE_LEN || nameLen >= FIM_NAME_LEN) return undefined;
  if (bytes.length < FIM_EVENT_HEAD_SIZE + exeLen + nameLen) return undefined;
  const auid = v.getUint32(L.auid, true);
  return {
    tsNs: v.getBigUint64(L.ts_ns, true),
    ino: v.getBigUint64(L.ino, true),
    dirIno: v.getBigUint64(L.dir_ino, true),
    cgroupId: v.getBigUint64(L.cgroup_id, true),
    dev: v.getUint32(L.dev, true),
    op: v.getUint32(L.op, true) as FimOp,
    pid: v.getUint32(L.pid, true),
    tgid: v.getUint32(L.tgid, true),
    ppid: v.getUint32(L.ppid, true),
    uid: v.getUint32(L.uid, true),
    euid: v.getUint32(L.euid, true),
    auid: auid === 0xffffffff ? undefined : auid,
    syscallNr: v.getInt32(L.syscall_nr, true),
    comm: cString(bytes, L.comm, 16),
    name: nameLen ? rawName(bytes, L.tail + exeLen, nameLen) : "",
    exe: cString(bytes, L.tail, exeLen),
    startNs: v.getBigUint64(L.start_ns, true),
    exeIno: v.getBigUint64(L.exe_ino, true),
  };
}

/** struct fim_pending (bpf/fim_event.h): byte offsets, checked against C by fim_event_layout_test.ts. */
export const FIM_PENDING_LAYOUT = {
  /** struct fim_writer w[FIM_PENDING_WRITERS]: start_ns at 0, tgid at 8, ops at 12, 16 bytes each. */
  w: 0,
  held: 64,
  size: 72,
} as const;
/** FIM_PENDING_WRITERS: writers one pending entry remembers. */
export const FIM_PENDING_WRITERS = 4;

/** A process the kernel folded into a pending entry: its id, start and kinds of operation. */
export interface PendingWriter {
  tgid: number;
  /** Process start, boot-time ns (with tgid, one process for good). */
  startNs: bigint;
  /** The operations it did, lowest first. */
  ops: FimOp[];
}

/**
 * The writers of a pending entry whose event found the ring buffer full
 * (`held`), or undefined when it is not held or too short.
 */
export function decodeHeldWriters(bytes: Uint8Array): PendingWriter[] | undefined {
  const L = FIM_PENDING_LAYOUT;
  if (bytes.length < L.size) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(L.held, true) === 0) return undefined;
  const writers: PendingWriter[] = [];
  for (let i = 0; i < FIM_PENDING_WRITERS; i++) {
    const at = L.w + 16 * i;
    const bits = v.getUint32(at + 12, true);
    if (bits === 0) continue;
    const ops: FimOp[] = [];
    for (let op = 1; op < 32; op++) if (bits & (1 << op)) ops.push(op as FimOp);
    writers.push({ tgid: v.getUint32(at + 8, true), startNs: v.getBigUint64(at, true), ops });
  }
  return writers;
}

/** Indexes of the fold_gen map (enum fim_fold_gen in bpf/fim_event.h). */
export const FIM_FOLD_GEN = { rearms: 0, exits: 1, on: 2 } as const;

/**
 * struct fim_fold_cache (bpf/fim_event.h), one per CPU: where its `folded`
 * count sits, checked against C by fim_event_layout_test.ts.
 */
export const FIM_FOLD_CACHE_LAYOUT = { folded: 64, size: 72 } as const;

/** struct fim_exited (bpf/fim_event.h): byte offsets, checked against C by fim_event_layout_test.ts. */
export const FIM_EXITED_LAYOUT = {
  start_ns: 0,
  ppid: 8,
  uid: 12,
  euid: 16,
  auid: 20,
  comm: 24,
  size: 40,
} as const;

/** A process as the kernel saw it exit (map `exited`). */
export interface ExitedProcess {
  comm: string;
  ppid: number;
  uid: number;
  euid: number;
  /** undefined when unset */
  auid?: number;
  startNs: bigint;
}

/** Decodes a struct fim_exited; undefined when it is too short. */
export function decodeExited(bytes: Uint8Array): ExitedProcess | undefined {
  const L = FIM_EXITED_LAYOUT;
  if (bytes.length < L.size) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const auid = v.getUint32(L.auid, true);
  return {
    comm: cString(bytes, L.comm, L.size - L.comm),
    ppid: v.getUint32(L.ppid, true),
    uid: v.getUint32(L.uid, true),
    euid: v.getUint32(L.euid, true),
    auid: auid === 0xffffffff ? undefined : auid,
    startNs: v.getBigUint64(L.start_ns, true),
  };
}

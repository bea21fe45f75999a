/**
 * A start's marks in one call per window: native/fanotify_marks.c opens,
 * fstats, names (name_to_handle_at) and marks each path the way
 * FanotifyGroup's mark does, so that the runtime's cost per call (five
 * system calls a file) does not fall on the main thread at every file of a
 * first baseline.
 *
 * @module
 */
import { pathBytes } from "../watch/path_bytes.ts";
import { errorMessage } from "../error_message.ts";

const SYMBOLS = {
  bpfink_mark_files: {
    parameters: [
      "i32", // the group's fd
      "buffer", // paths, each ended by a NUL
      "u64", // their length in bytes
      "u32", // count
      "buffer", // how each is opened (u8: NativeOpen)
      "buffer", // masks (u32)
      "buffer", // status (u8: MarkStatus)
      "buffer", // errs (i32: call << 16 | errno)
      "buffer", // devices (f64)
      "buffer", // mount ids (f64, -1 when not known)
      "buffer", // inode numbers (i64)
      "buffer", // handle keys (bpfink_mark_key_slot() bytes each)
      "buffer", // their lengths (u16)
      "buffer", // file system ids (8 bytes each)
    ],
    result: "i32",
  },
  bpfink_mark_key_slot: { parameters: [], result: "u32" },
} as const;

/** How a path is opened to be marked: O_PATH, or for reading as a file or a directory. */
export const enum NativeOpen {
  Path = 0,
  File = 1,
  Dir = 2,
}

/** What became of one path. */
export const enum MarkStatus {
  /** Nothing there, or it could not be opened or fstat'ed. */
  Nothing = 0,
  Marked = 1,
  Failed = 2,
  /** Not gone through (the caller marks it the other way). */
  NotDone = 3,
}

/** The call that failed, as errs gives it. */
const CALLS: Record<number, string> = { 1: "name_to_handle_at", 2: "fstatfs", 3: "fanotify_mark" };

/** One window's marks, as the native code left them. */
export interface NativeMarkResults {
  status: Uint8Array;
  /** For a failure: the call and its errno. */
  failure(i: number): { call: string; errno: number };
  dev: Float64Array;
  mntId: Float64Array;
  ino: BigUint64Array;
  /** The handle key ("type:hex") of path `i`. */
  handleKey(i: number): string;
  /** The file system id of path `i` (8 bytes). */
  fsid(i: number): Uint8Array;
}

/**
 * The arrays the native code writes a window's marks into (mark_fd.h's
 * mark_out), one slot a path; a hashing worker sends them back as they are
 * (read_batch.ts).
 */
export interface MarkArrays {
  /** MarkStatus of each path. */
  status: Uint8Array<ArrayBuffer>;
  /** For a failure: call << 16 | errno. */
  errs: Int32Array<ArrayBuffer>;
  dev: Float64Array<ArrayBuffer>;
  /** -1 when not known. */
  mntId: Float64Array<ArrayBuffer>;
  ino: BigInt64Array<ArrayBuffer>;
  /** Handle keys, `slot` bytes each (bpfink_mark_key_slot), keyLens[i] of them used. */
  keys: Uint8Array<ArrayBuffer>;
  keyLens: Uint16Array<ArrayBuffer>;
  /** File system ids, 8 bytes each. */
  fsids: Uint8Array<ArrayBuffer>;
  slot: number;
}

/** Mark arrays for `n` paths, `slot` bytes a handle key: none tried yet. */
export function emptyMarkArrays(n: number, slot: number): MarkArrays {
  return {
    status: new Uint8Array(n),
    errs: new Int32Array(n),
    dev: new Float64Array(n),
    mntId: new Float64Array(n),
    ino: new BigInt64Array(n),
    keys: new Uint8Array(n * slot),
    keyLens: new Uint16Array(n),
    fsids: new Uint8Array(n * 8),
    slot,
  };
}

/** A window's marks as the native code left them in `a`. */
export function markResultsOf(a: MarkArrays): NativeMarkResults {
  return {
    status: a.status,
    failure: (i) => ({ call: CALLS[a.errs[i] >>> 16] ?? "mark", errno: a.errs[i] & 0xffff }),
    dev: a.dev,
    mntId: a.mntId,
    // The same bytes read unsigned (an inode number is).
    ino: new BigUint64Array(a.ino.buffer, a.ino.byteOffset, a.ino.length),
    handleKey: (i) =>
      String.fromCharCode.apply(
        null,
        a.keys.subarray(i * a.slot, i * a.slot + a.keyLens[i]) as unknown as number[],
      ),
    fsid: (i) => a.fsids.subarray(i * 8, i * 8 + 8),
  };
}

/** The native marker, opened from bpfink's native library. */
export class NativeMarks {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  /** The bytes of each handle key's slot, as the native code writes them. */
  readonly #keySlot: number;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.#lib = lib;
    this.#keySlot = lib.symbols.bpfink_mark_key_slot();
  }

  /** The marker in shared object `path`, or why it could not be opened. */
  static open(path: string): NativeMarks | { error: string } {
    try {
      return new NativeMarks(Deno.dlopen(path, SYMBOLS));
    } catch (e) {
      return { error: `cannot load bpfink's native marks from ${path} (${errorMessage(e)})` };
    }
  }

  /** Marks `items`' paths for fanotify group `fd`, each opened as `how` says, for its `mask`. */
  mark(
    fd: number,
    items: readonly { path: string; how: NativeOpen; mask: number }[],
  ): NativeMarkResults {
    const n = items.length;
    let joined = "";
    const how = new Uint8Array(n);
    const masks = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      joined += items[i].path + "\0";
      how[i] = items[i].how;
      masks[i] = items[i].mask;
    }
    const paths = pathBytes(joined);
    const a = emptyMarkArrays(n, this.#keySlot);
    const done = this.#lib.symbols.bpfink_mark_files(
      fd,
      paths,
      BigInt(paths.length),
      n,
      how,
      masks,
      a.status,
      a.errs,
      a.dev,
      a.mntId,
      a.ino,
      a.keys,
      a.keyLens,
      a.fsids,
    );
    for (let i = Math.max(0, done); i < n; i++) a.status[i] = MarkStatus.NotDone;
    return markResultsOf(a);
  }

  /** Closes the shared object. */
  close(): void {
    this.#lib.close();
  }
}

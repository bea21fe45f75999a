/**
 * The hashing workers' fast path: native/file_reader.c, a small shared
 * object, describes and hashes a whole window of files in one call and
 * writes the states straight into the packed arrays that carry them to the
 * main thread (read_batch.ts). A first baseline of many small files spent
 * most of the workers' time in the runtime's cost per call (a statx, an
 * open, two reads, a close, a hash object), not in hashing.
 *
 * It does only the common case, a regular file read whole, with its
 * extended attributes and inode flags as extra_attrs.ts writes them (an ACL
 * or capabilities aside). Every other path comes back in `redo`, for
 * readFileState(), which says why it could not be read: the two ways differ
 * only in speed.
 *
 * @module
 */
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { PSEUDO_FS_MAGICS } from "./native_fs.ts";
import { pathBytes } from "./path_bytes.ts";
import {
  HASH_CHARS,
  NO_BTIME,
  type PackedItems,
  type PackedResults,
  STATE_BIGS,
  STATE_NUMS,
} from "./read_batch.ts";
import { errorMessage } from "../error_message.ts";
import { xattrDigestKey } from "./extra_attrs.ts";
import { emptyMarkArrays } from "../fanotify/native_marks.ts";

const SYMBOLS = {
  bpfink_read_files: {
    parameters: [
      "buffer", // paths, each ended by a NUL
      "u64", // their length in bytes
      "u32", // count
      "buffer", // keep (u32 per path)
      "buffer", // flags
      "buffer", // types
      "buffer", // nums
      "buffer", // nlinks
      "buffer", // bigs
      "buffer", // hashes
      "buffer", // content arena
      "u64", // its size
      "buffer", // content [at, length] (f64 pairs)
      "buffer", // attributes' text arena
      "u64", // its size
      "buffer", // attributes' text [at, length] (f64 pairs)
      "buffer", // pseudo file systems' magics (u32)
      "u32", // their count
      "u64", // the largest file read natively
      "i32", // the fanotify group each file is marked for first (-1: none)
      "buffer", // masks (u32 per path; 0: not marked), or null
      "buffer", // mark status (u8: MarkStatus)
      "buffer", // mark errs (i32: call << 16 | errno)
      "buffer", // mark devices (f64)
      "buffer", // mark mount ids (f64, -1 when not known)
      "buffer", // mark inode numbers (i64)
      "buffer", // handle keys (bpfink_mark_key_slot() bytes each)
      "buffer", // their lengths (u16)
      "buffer", // file system ids (8 bytes each)
      "buffer", // the key of the attributes' value digests (extra_attrs.ts's xattrDigestKey())
      "u32", // its length
    ],
    result: "i32",
    // Called as a nonblocking call (on a thread of Deno's pool; the worker waits for it): where
    // V8's top tier runs (`deno test`, a bench without bpfink's flags) it compiled the blocking
    // call, with its 31 arguments, as a fast call, and its compiler thread crashed the process
    // ("Check failed: is_valid(value)") in four of four 100,000-file mass changes
    // (bench/mass_change.ts); none in three with this. bpfink itself runs without that tier.
    nonblocking: true,
  },
  bpfink_read_layout: { parameters: [], result: "u32" },
  bpfink_mark_key_slot: { parameters: [], result: "u32" },
} as const;

/** Flags of a path the native reader left to readFileState(). */
const REDO = 3;

/**
 * The version of the marks' arguments and of the flags' meaning that
 * bpfink_read_layout() reports (file_reader.c); 2: MAY_HOLD_HASH; 5: each
 * state's attributes' text (`attrs`) in an arena of its own; 6: the key
 * of the attributes' value digests.
 */
const READ_VERSION = 6;

/** The largest file read natively; larger ones stream through readFileState()'s budgets. */
const MAX_FILE = 64 * 1024 * 1024;
/** The most content bytes one window keeps natively (more is read the other way). */
const MAX_ARENA = 8 * 1024 * 1024;
/**
 * The attributes' text one window keeps: per path (a security.selinux line
 * is 39 bytes, and a text the same as the one before is kept once), and at
 * least (a page is memory once written to). A file whose text does not fit
 * is read the other way.
 */
const ATTRS_PER_PATH = 256;
const ATTRS_MIN = 1024 * 1024;

const MAGICS = new Uint32Array(PSEUDO_FS_MAGICS);

/** What the native reader takes on; more is left to readFileState(). */
export interface NativeLimits {
  /** The largest file it reads (default 64 MiB). */
  maxFileBytes?: number;
  /** The most content it keeps for one window (default 8 MiB). */
  arenaBytes?: number;
}

/** The native reader, opened from a shared object. */
export class NativeReader {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  readonly #maxFile: bigint;
  readonly #maxArena: number;
  #arena = new Uint8Array(0);
  #attrs = new Uint8Array(0);

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>, limits: NativeLimits) {
    this.#lib = lib;
    this.#maxFile = BigInt(limits.maxFileBytes ?? MAX_FILE);
    this.#maxArena = limits.arenaBytes ?? MAX_ARENA;
  }

  /** The reader in shared object `path`, or why it could not be opened. */
  static open(path: string, limits: NativeLimits = {}): NativeReader | { error: string } {
    try {
      const lib = Deno.dlopen(path, SYMBOLS);
      // The arrays it writes are sized here: a library built for another layout is not used.
      const want = (READ_VERSION << 24 | STATE_NUMS << 16 | STATE_BIGS << 8 | HASH_CHARS) >>> 0;
      if (lib.symbols.bpfink_read_layout() !== want) {
        lib.close();
        return { error: `${path} is bpfink's native reader of another version: not used` };
      }
      return new NativeReader(lib, limits);
    } catch (e) {
      return { error: `cannot load bpfink's native reader from ${path} (${errorMessage(e)})` };
    }
  }

  /**
   * Reads window `items` into `out` (made by emptyResults for as many
   * paths). Resolves with the indices it left to readFileState(). One read
   * at a time: the buffers it fills are the reader's own.
   */
  async read(items: PackedItems, out: PackedResults): Promise<number[]> {
    const n = out.flags.length;
    const keep = new Uint32Array(n);
    let wanted = 0;
    for (const [i, k] of items.keep) {
      keep[i] = Math.min(k, 0xffffffff);
      wanted += keep[i];
    }
    const arenaSize = Math.min(wanted, this.#maxArena);
    if (this.#arena.length < arenaSize) this.#arena = new Uint8Array(arenaSize);
    const paths = pathBytes(items.paths);
    // -1 (none) for the paths the call does not reach, as it writes for those it does.
    const content = new Float64Array(2 * n).fill(-1);
    const attrsSize = Math.max(n * ATTRS_PER_PATH, ATTRS_MIN);
    if (this.#attrs.length < attrsSize) this.#attrs = new Uint8Array(attrsSize);
    const attrsAt = new Float64Array(2 * n).fill(-1);
    // Marks before reading (each file by the fd it is read by), when the window asks for them.
    // The digests' key of this thread (a worker's, from its window: hash_worker.ts).
    const key = xattrDigestKey();
    const m = items.marks &&
      (out.marks = emptyMarkArrays(n, this.#lib.symbols.bpfink_mark_key_slot()));
    const done = await this.#lib.symbols.bpfink_read_files(
      paths,
      BigInt(paths.length),
      n,
      keep,
      out.flags,
      out.types,
      out.nums,
      out.nlinks,
      out.bigs,
      out.hashes,
      this.#arena,
      BigInt(arenaSize),
      content,
      this.#attrs,
      BigInt(attrsSize),
      attrsAt,
      MAGICS,
      MAGICS.length,
      this.#maxFile,
      m ? items.marks!.group : -1,
      m ? items.marks!.masks : null,
      m?.status ?? null,
      m?.errs ?? null,
      m?.dev ?? null,
      m?.mntId ?? null,
      m?.ino ?? null,
      m?.keys ?? null,
      m?.keyLens ?? null,
      m?.fsids ?? null,
      key,
      key.length,
    );
    const redo: number[] = [];
    const names = items.paths.split("\0");
    let kept = -1;
    let attrsKept = 0;
    for (let i = 0; i < n; i++) {
      if (i >= done) {
        redo.push(i);
        continue;
      }
      const flags = out.flags[i];
      if (flags === REDO) {
        redo.push(i);
        continue;
      }
      if ((flags & 3) !== 1) continue;
      // The device as the kernel names the inode, as readFileState() finds it.
      const o = i * STATE_NUMS;
      const dev = kernelIdentity.deviceOf(names[i], out.nums[o]);
      out.nums[o] = dev;
      if (!kernelIdentity.keepsBirth(names[i])) out.bigs[i * STATE_BIGS + 3] = NO_BTIME;
      if (content[2 * i] >= 0) kept = Math.max(kept, content[2 * i] + content[2 * i + 1]);
      if (attrsAt[2 * i] >= 0) attrsKept = Math.max(attrsKept, attrsAt[2 * i] + attrsAt[2 * i + 1]);
    }
    // The window's contents cross as one buffer (its states' views into it: read_batch.ts).
    if (kept >= 0) out.contents = { bytes: this.#arena.slice(0, kept), at: content };
    if (attrsKept > 0) out.attrs = { bytes: this.#attrs.slice(0, attrsKept), at: attrsAt };
    return redo;
  }

  /** Closes the shared object. */
  close(): void {
    this.#lib.close();
  }
}

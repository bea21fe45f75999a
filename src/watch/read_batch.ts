/**
 * A window of reads as it crosses between the main thread and a hashing
 * worker (parallel_reader.ts, hash_worker.ts): the paths as one string, the
 * states as a few typed arrays, transferred, not copied. A structured clone
 * of an object per file, with its BigInts and strings, cost the main thread
 * more than a microsecond a file each way, and made as much garbage.
 *
 * @module
 */
import type { FileState } from "./file_state.ts";
import { ENTRY_TYPE_CODE, ENTRY_TYPES } from "./native_fs.ts";
import { emptyMarkArrays, type MarkArrays } from "../fanotify/native_marks.ts";

/** A path to read, with the content size up to which its content is wanted. */
export interface ReadItem {
  path: string;
  keepContentUpTo: number;
  /**
   * The fanotify mask to mark it for before it is read (a regular file, by
   * the fd it is read by: native/file_reader.c), when the window names a
   * group; 0 or absent: not marked.
   */
  mark?: number;
}

/** A path's state, undefined when it does not exist, or why it could not be read. */
export type ReadResult = FileState | undefined | { error: string };

/** One window as sent to a worker. */
export interface PackedItems {
  id: number;
  /** The paths, each ended by a NUL (a path never holds one). */
  paths: string;
  /** [index, keepContentUpTo] of the items that want content (most want none). */
  keep: [number, number][];
  /** bpfink's native library, for the worker to read with (native_reader.ts). */
  native?: string;
  /**
   * The key of the attributes' value digests (extra_attrs.ts's
   * xattrDigestKey()): the worker's texts are then the main thread's.
   */
  attrsKey?: Uint8Array;
  /** The fanotify group to mark items for, and each item's mask (0: not marked). */
  marks?: { group: number; masks: Uint32Array<ArrayBuffer> };
}

/**
 * Packs `items` (window `id`) for a worker; `native`: the native library's
 * path; `group`: the fanotify group items with a `mark` are marked for.
 */
export function packItems(
  id: number,
  items: readonly ReadItem[],
  native?: string,
  group?: number,
): PackedItems {
  let paths = "";
  const keep: [number, number][] = [];
  let masks: Uint32Array<ArrayBuffer> | undefined;
  for (let i = 0; i < items.length; i++) {
    paths += items[i].path + "\0";
    if (items[i].keepContentUpTo > 0) keep.push([i, items[i].keepContentUpTo]);
    const mark = items[i].mark ?? 0;
    if (mark && group !== undefined) (masks ??= new Uint32Array(items.length))[i] = mark;
  }
  const p: PackedItems = { id, paths, keep };
  if (native !== undefined) p.native = native;
  if (masks) p.marks = { group: group!, masks };
  return p;
}

/** How many items packItems() packed. */
export function countItems(p: PackedItems): number {
  let n = 0;
  for (let at = p.paths.indexOf("\0"); at >= 0; at = p.paths.indexOf("\0", at + 1)) n++;
  return n;
}

/** The items packItems() packed. */
export function unpackItems(p: PackedItems): ReadItem[] {
  const paths = p.paths.split("\0");
  paths.pop();
  const items = paths.map((path) => ({ path, keepContentUpTo: 0 }));
  for (const [i, n] of p.keep) items[i].keepContentUpTo = n;
  return items;
}

/** What became of each path. */
const enum Status {
  Missing = 0,
  State = 1,
  Error = 2,
}

/** Numbers a state carries as float64s (PackedResults.nums), in this order. */
export const STATE_NUMS = 7;
/** Numbers a state carries as 64-bit integers: ino, mtimeNs, ctimeNs, btimeNs. */
export const STATE_BIGS = 4;
/** btimeNs's value when the state has none (the file system keeps no birth time). */
export const NO_BTIME = -(1n << 63n);
/** Characters of a hash as packed (a sha256 in hex). */
export const HASH_CHARS = 64;

/** The states of one window, packed by packResults(). */
export interface PackedResults {
  id: number;
  /** Status (low 2 bits), has a hash (4), has mtimeNs/ctimeNs (8); then the type code. */
  flags: Uint8Array<ArrayBuffer>;
  types: Uint8Array<ArrayBuffer>;
  /** dev, size, mode, uid, gid, mtimeMs, ctimeMs per state; nlink apart (it may be absent). */
  nums: Float64Array<ArrayBuffer>;
  nlinks: Float64Array<ArrayBuffer>;
  /** ino (as unsigned), mtimeNs, ctimeNs, btimeNs (NO_BTIME: none) per state. */
  bigs: BigInt64Array<ArrayBuffer>;
  /** The characters of each hash, one byte each (hex). */
  hashes: Uint8Array<ArrayBuffer>;
  /**
   * The contents a native read kept, one buffer for the window, and where
   * each state's is in it ([at, length] per state, at -1 for none): one
   * transfer, where a buffer per file cost a transfer each.
   */
  contents?: { bytes: Uint8Array<ArrayBuffer>; at: Float64Array<ArrayBuffer> };
  /**
   * The attributes' texts (`attrs`, ASCII) a native read made, the same
   * way: [at, length] per state, at -1 for "" (or for a state in `rare`).
   * States with the same text share its bytes, and so its string.
   */
  attrs?: { bytes: Uint8Array<ArrayBuffer>; at: Float64Array<ArrayBuffer> };
  /** The marks the worker placed before reading, when the window asked for any. */
  marks?: MarkArrays;
  /**
   * [index, what] of the rare parts: a link target, a read error, an error,
   * the content, a hash that is not 64 one-byte characters, extended
   * attributes or inode flags (`attrs`; null: not known). A state without
   * `attrs` here or in `attrs` above has none.
   */
  rare: [
    number,
    {
      linkTarget?: string;
      readError?: string;
      error?: string;
      content?: Uint8Array;
      sha256?: string;
      attrs?: string | null;
    },
  ][];
}

/**
 * The marks of `parts` (a window's slices, in order, each of `n` items) as
 * one window's; a slice without marks (read on this thread) has none tried.
 * Undefined when no slice has marks.
 */
export function joinMarks(
  parts: readonly { marks?: MarkArrays; n: number }[],
): MarkArrays | undefined {
  const some = parts.find((p) => p.marks)?.marks;
  if (!some) return undefined;
  if (parts.length === 1) return some;
  const slot = some.slot;
  const out = emptyMarkArrays(parts.reduce((a, p) => a + p.n, 0), slot);
  let at = 0;
  for (const { marks: p, n } of parts) {
    if (p) {
      out.status.set(p.status, at);
      out.errs.set(p.errs, at);
      out.dev.set(p.dev, at);
      out.mntId.set(p.mntId, at);
      out.ino.set(p.ino, at);
      out.keys.set(p.keys, at * slot);
      out.keyLens.set(p.keyLens, at);
      out.fsids.set(p.fsids, at * 8);
    }
    at += n;
  }
  return out;
}

const HAS_HASH = 4;
const HAS_NS = 8;
const HAS_NLINK = 16;
/** contentHasNul and contentMayHoldHash are known (CONTENT_NUL, MAY_HOLD_HASH: and true). */
const NUL_KNOWN = 32;
const CONTENT_NUL = 64;
const MAY_HOLD_HASH = 128;

/** Packed arrays for `n` states (window `id`), every one Missing until packed. */
export function emptyResults(id: number, n: number): PackedResults {
  return {
    id,
    flags: new Uint8Array(n),
    types: new Uint8Array(n),
    nums: new Float64Array(n * STATE_NUMS),
    nlinks: new Float64Array(n),
    bigs: new BigInt64Array(n * STATE_BIGS),
    hashes: new Uint8Array(n * HASH_CHARS),
    rare: [],
  };
}

/** The buffers to move with `p`: its typed arrays and every content buffer. */
export function transferOf(p: PackedResults): ArrayBuffer[] {
  const transfer: ArrayBuffer[] = [
    p.flags.buffer,
    p.types.buffer,
    p.nums.buffer,
    p.nlinks.buffer,
    p.bigs.buffer,
    p.hashes.buffer,
  ];
  for (const [, r] of p.rare) if (r.content) transfer.push(r.content.buffer as ArrayBuffer);
  if (p.contents) transfer.push(p.contents.bytes.buffer, p.contents.at.buffer);
  if (p.attrs) transfer.push(p.attrs.bytes.buffer, p.attrs.at.buffer);
  const m = p.marks;
  if (m) {
    transfer.push(
      m.status.buffer,
      m.errs.buffer,
      m.dev.buffer,
      m.mntId.buffer,
      m.ino.buffer,
      m.keys.buffer,
      m.keyLens.buffer,
      m.fsids.buffer,
    );
  }
  return transfer;
}

/**
 * Frees now, by detaching them, the buffers a worker sent with `p` (its
 * states' arrays, the window's contents and attribute texts, a content sent
 * apart), which are otherwise freed only by a full collection: received a
 * few windows before they are used, they outlive the young generation's
 * collections, and at 100,000 files they were most of the first baseline's
 * peak RSS with line diffs on. unpackResults() copies all but the contents:
 * every state's `content` unpacked from `p` reads as empty after, so call it
 * once none is used (or kept: copy what must be). The marks are left, as
 * what they mean may keep views into them.
 */
export function releaseBuffers(p: PackedResults): void {
  const free = (buf: ArrayBufferLike | undefined) => {
    if (buf instanceof ArrayBuffer && !buf.detached) buf.transfer(0);
  };
  for (const a of [p.flags, p.types, p.nums, p.nlinks, p.bigs, p.hashes]) free(a.buffer);
  free(p.contents?.bytes.buffer);
  free(p.contents?.at.buffer);
  free(p.attrs?.bytes.buffer);
  free(p.attrs?.at.buffer);
  for (const [, r] of p.rare) free(r.content?.buffer);
}

/**
 * `bytes` (`path`'s content), checked not to be a view into a buffer
 * releaseBuffers() freed: it would read as an empty file, and a diff
 * against it would be wrong.
 */
export function liveBytes(bytes: Uint8Array, path: string): Uint8Array {
  if ((bytes.buffer as ArrayBuffer).detached) {
    throw new Error(`the content of ${path} was used after its read's buffer was freed`);
  }
  return bytes;
}

/**
 * Packs a window's results; `transfer` lists the buffers to move (the
 * typed arrays and every content buffer).
 */
export function packResults(
  id: number,
  results: readonly ReadResult[],
): { packed: PackedResults; transfer: ArrayBuffer[] } {
  const p = emptyResults(id, results.length);
  for (let i = 0; i < results.length; i++) packResult(p, i, results[i]);
  return { packed: p, transfer: transferOf(p) };
}

/** Packs result `r` as `p`'s state `i`. */
export function packResult(p: PackedResults, i: number, r: ReadResult): void {
  if (r === undefined) {
    p.flags[i] = Status.Missing;
    return;
  }
  if ("error" in r) {
    p.flags[i] = Status.Error;
    p.rare.push([i, { error: r.error }]);
    return;
  }
  let flags = Status.State;
  p.types[i] = ENTRY_TYPE_CODE.get(r.type) ?? 0;
  const o = i * STATE_NUMS;
  p.nums[o] = r.id.dev;
  p.nums[o + 1] = r.size;
  p.nums[o + 2] = r.mode;
  p.nums[o + 3] = r.uid;
  p.nums[o + 4] = r.gid;
  p.nums[o + 5] = r.mtimeMs;
  p.nums[o + 6] = r.ctimeMs ?? NaN;
  if (r.nlink !== undefined) {
    flags |= HAS_NLINK;
    p.nlinks[i] = r.nlink;
  }
  if (r.contentHasNul !== undefined && r.contentMayHoldHash !== undefined) {
    flags |= NUL_KNOWN | (r.contentHasNul ? CONTENT_NUL : 0) |
      (r.contentMayHoldHash ? MAY_HOLD_HASH : 0);
  }
  p.bigs[i * STATE_BIGS] = BigInt.asIntN(64, r.id.ino);
  if (r.mtimeNs !== undefined && r.ctimeNs !== undefined) {
    flags |= HAS_NS;
    p.bigs[i * STATE_BIGS + 1] = r.mtimeNs;
    p.bigs[i * STATE_BIGS + 2] = r.ctimeNs;
  }
  p.bigs[i * STATE_BIGS + 3] = r.btimeNs !== undefined && r.btimeNs !== NO_BTIME
    ? BigInt.asIntN(64, r.btimeNs)
    : NO_BTIME;
  const odd = r.sha256 !== undefined && !packHash(r.sha256, p.hashes, i * HASH_CHARS);
  if (r.sha256 !== undefined && !odd) flags |= HAS_HASH;
  p.flags[i] = flags;
  if (
    r.linkTarget !== undefined || r.readError !== undefined || r.content !== undefined || odd ||
    r.attrs !== ""
  ) {
    const rare: PackedResults["rare"][number][1] = {};
    if (r.attrs !== "") rare.attrs = r.attrs ?? null;
    if (odd) rare.sha256 = r.sha256;
    if (r.linkTarget !== undefined) rare.linkTarget = r.linkTarget;
    if (r.readError !== undefined) rare.readError = r.readError;
    if (r.content !== undefined) rare.content = r.content;
    p.rare.push([i, rare]);
  }
}

/**
 * The results packResults() packed, each state with the fields
 * readFileState() gives it, in its order.
 */
export function unpackResults(p: PackedResults): ReadResult[] {
  const n = p.flags.length;
  const out = new Array<ReadResult>(n);
  const rare = new Map(p.rare);
  const texts = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const flags = p.flags[i];
    const status = flags & 3;
    if (status === Status.Missing) {
      out[i] = undefined;
      continue;
    }
    const extra = rare.get(i);
    if (status === Status.Error) {
      out[i] = { error: extra?.error ?? "" };
      continue;
    }
    const o = i * STATE_NUMS;
    const ctimeMs = p.nums[o + 6];
    const s: FileState = {
      id: { dev: p.nums[o], ino: BigInt.asUintN(64, p.bigs[i * STATE_BIGS]) },
      size: p.nums[o + 1],
      mode: p.nums[o + 2],
      uid: p.nums[o + 3],
      gid: p.nums[o + 4],
      mtimeMs: p.nums[o + 5],
      ctimeMs: Number.isNaN(ctimeMs) ? undefined : ctimeMs,
      mtimeNs: flags & HAS_NS ? p.bigs[i * STATE_BIGS + 1] : undefined,
      ctimeNs: flags & HAS_NS ? p.bigs[i * STATE_BIGS + 2] : undefined,
      nlink: flags & HAS_NLINK ? p.nlinks[i] : undefined,
      type: ENTRY_TYPES[p.types[i]],
    };
    const attrs = extra?.attrs === undefined ? packedAttrs(p, i, texts) : extra.attrs;
    if (attrs !== null) s.attrs = attrs;
    const btimeNs = p.bigs[i * STATE_BIGS + 3];
    if (btimeNs !== NO_BTIME) s.btimeNs = btimeNs;
    if (extra?.linkTarget !== undefined) s.linkTarget = extra.linkTarget;
    if (flags & HAS_HASH) {
      const at = i * HASH_CHARS;
      s.sha256 = String.fromCharCode.apply(null, p.hashes.subarray(at, at + HASH_CHARS) as never);
    } else if (extra?.sha256 !== undefined) s.sha256 = extra.sha256;
    if (extra?.content !== undefined) s.content = extra.content;
    else if (p.contents && p.contents.at[2 * i] >= 0) {
      const at = p.contents.at[2 * i];
      s.content = p.contents.bytes.subarray(at, at + p.contents.at[2 * i + 1]);
    }
    if (flags & NUL_KNOWN) {
      s.contentHasNul = (flags & CONTENT_NUL) !== 0;
      s.contentMayHoldHash = (flags & MAY_HOLD_HASH) !== 0;
    }
    if (extra?.readError !== undefined) s.readError = extra.readError;
    out[i] = s;
  }
  return out;
}

const ASCII = new TextDecoder();

/** State `i`'s text in `p.attrs`, "" for none; `texts`: those decoded, by where they are. */
function packedAttrs(p: PackedResults, i: number, texts: Map<number, string>): string {
  const at = p.attrs?.at[2 * i] ?? -1;
  if (at < 0) return "";
  let text = texts.get(at);
  if (text === undefined) {
    text = ASCII.decode(p.attrs!.bytes.subarray(at, at + p.attrs!.at[2 * i + 1]));
    texts.set(at, text);
  }
  return text;
}

/** Copies `hash` into `out` at `at`, one byte a character; false when it is not 64 such characters. */
function packHash(hash: string, out: Uint8Array, at: number): boolean {
  if (hash.length !== HASH_CHARS) return false;
  for (let c = 0; c < HASH_CHARS; c++) {
    const code = hash.charCodeAt(c);
    if (code > 0xff) return false;
    out[at + c] = code;
  }
  return true;
}

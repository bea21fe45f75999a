/**
 * The last known state of every watched path, packed into fixed bytes per
 * path. As JavaScript objects, a file's state took 371 bytes of heap (the
 * object, its inode object, three BigInts, two heap numbers and the hash as
 * 64 characters of hex): 35 MiB at 100,000 files. Here it takes 112 bytes
 * in typed arrays, and a state becomes an object only when it is read.
 *
 * What cannot be packed exactly (a link target or read error, a field out of
 * range, a hash that is not lowercase hex, as an old database may hold) is
 * kept beside the slot, so that `get` always returns what `set` was given,
 * without its content.
 *
 * @module
 */
import { type FileState, withoutContent } from "./file_state.ts";
import { ENTRY_TYPE_CODE, ENTRY_TYPES, type EntryType } from "./native_fs.ts";
import type { InodeId } from "./inode_key.ts";

const TYPE_MASK = 0x7;
const HAS_CTIME_MS = 1 << 3;
const HAS_NLINK = 1 << 4;
const HAS_MTIME_NS = 1 << 5;
const HAS_CTIME_NS = 1 << 6;
const HAS_SHA = 1 << 7;
/** The state is kept whole beside the slot (it does not pack exactly). */
const ODD = 1 << 8;
/** A link target or a read error is kept beside the slot. */
const HAS_TEXT = 1 << 9;
const HAS_BTIME_NS = 1 << 10;
/** `attrs` is known: "" unless the text beside the slot holds them. */
const HAS_ATTRS = 1 << 11;

// Per slot: u32 dev, mode, uid, gid, nlink, flags; f64 size, mtimeMs, ctimeMs;
// u64 ino; i64 mtimeNs, ctimeNs, btimeNs; 32 bytes of sha256.
const U32 = 6;
const F64 = 3;
const I64 = 3;
const SHA = 32;

/** Bytes a slot takes in the typed arrays. */
export const STATE_SLOT_BYTES = U32 * 4 + F64 * 8 + 8 + I64 * 8 + SHA;

const MIN_SLOTS = 1024;
const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;

const isU32 = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_U32 && !Object.is(v, -0);
const isI64 = (v: unknown): v is bigint => typeof v === "bigint" && v >= MIN_I64 && v <= MAX_I64;

const HEX_DIGITS = new Uint8Array(16).map((_, i) => "0123456789abcdef".charCodeAt(i));
const hexScratch = new Uint8Array(64);
const ascii = new TextDecoder();

/** The value of a lowercase hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Fixed-size slots of file states; a slot is a small integer the caller keeps. */
export class StateTable {
  #slots = 0;
  #used = 0;
  readonly #free: number[] = [];
  #u32 = new Uint32Array(0);
  #f64 = new Float64Array(0);
  #ino = new BigUint64Array(0);
  #i64 = new BigInt64Array(0);
  #sha = new Uint8Array(0);
  /** States that do not pack exactly, kept whole (without content). */
  readonly #odd = new Map<number, FileState>();
  /** Link targets, read errors and extended attributes other than none, by slot. */
  readonly #text = new Map<number, { linkTarget?: string; readError?: string; attrs?: string }>();

  /** Slots in use. */
  get size(): number {
    return this.#used;
  }

  /** States kept whole beside their slot (they do not pack exactly). */
  get unpacked(): number {
    return this.#odd.size;
  }

  /** Bytes the typed arrays take (every slot allocated, used or not). */
  get bytes(): number {
    return this.#slots * STATE_SLOT_BYTES;
  }

  /** Makes room for `n` states in all without growing again. */
  reserve(n: number): void {
    if (n > this.#slots) this.#grow(n);
  }

  /** Stores `state` (its content is not kept) in a new slot and returns the slot. */
  add(state: FileState): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      const next = this.#used + this.#free.length;
      if (next >= this.#slots) this.#grow(Math.max(MIN_SLOTS, Math.ceil(this.#slots * 1.5)));
      slot = next;
    }
    this.#used++;
    this.set(slot, state);
    return slot;
  }

  /** Replaces the state in `slot`. */
  set(slot: number, s: FileState): void {
    this.#odd.delete(slot);
    this.#text.delete(slot);
    const u = slot * U32;
    if (!this.#pack(slot, s)) {
      this.#u32[u + 5] = ODD;
      this.#odd.set(slot, withoutContent(s));
      return;
    }
    if (s.attrs !== undefined) this.#u32[u + 5] |= HAS_ATTRS;
    if (s.linkTarget !== undefined || s.readError !== undefined || (s.attrs ?? "") !== "") {
      this.#u32[u + 5] |= HAS_TEXT;
      this.#text.set(slot, { linkTarget: s.linkTarget, readError: s.readError, attrs: s.attrs });
    }
  }

  /** Frees `slot` for another state. */
  delete(slot: number): void {
    this.#odd.delete(slot);
    this.#text.delete(slot);
    this.#free.push(slot);
    this.#used--;
  }

  /** The state in `slot`, as a new object each time. */
  get(slot: number): FileState {
    const u = slot * U32;
    const flags = this.#u32[u + 5];
    if (flags & ODD) return withoutContent(this.#odd.get(slot)!);
    const f = slot * F64;
    const i = slot * I64;
    const text = flags & HAS_TEXT ? this.#text.get(slot) : undefined;
    return {
      id: { dev: this.#u32[u], ino: this.#ino[slot] },
      size: this.#f64[f],
      mode: this.#u32[u + 1],
      uid: this.#u32[u + 2],
      gid: this.#u32[u + 3],
      mtimeMs: this.#f64[f + 1],
      ctimeMs: flags & HAS_CTIME_MS ? this.#f64[f + 2] : undefined,
      nlink: flags & HAS_NLINK ? this.#u32[u + 4] : undefined,
      mtimeNs: flags & HAS_MTIME_NS ? this.#i64[i] : undefined,
      ctimeNs: flags & HAS_CTIME_NS ? this.#i64[i + 1] : undefined,
      btimeNs: flags & HAS_BTIME_NS ? this.#i64[i + 2] : undefined,
      type: ENTRY_TYPES[flags & TYPE_MASK],
      linkTarget: text?.linkTarget,
      sha256: flags & HAS_SHA ? this.#hexOf(slot) : undefined,
      readError: text?.readError,
      attrs: flags & HAS_ATTRS ? text?.attrs ?? "" : undefined,
    };
  }

  /** The entry type of the state in `slot` (undefined: not known), without reading the rest. */
  typeOf(slot: number): EntryType | undefined {
    const flags = this.#u32[slot * U32 + 5];
    if (flags & ODD) return this.#odd.get(slot)!.type;
    return ENTRY_TYPES[flags & TYPE_MASK];
  }

  /** The inode of the state in `slot`, without reading the rest. */
  idOf(slot: number): InodeId {
    const odd = this.#odd.get(slot);
    if (odd) return { dev: odd.id.dev, ino: odd.id.ino };
    return { dev: this.#u32[slot * U32], ino: this.#ino[slot] };
  }

  /**
   * Whether the state in `slot` has these ns stamps (a stamp the state does
   * not know matches any), without reading the rest.
   */
  sameStamps(slot: number, ctimeNs: bigint, mtimeNs: bigint): boolean {
    const odd = this.#odd.get(slot);
    if (odd) {
      return (odd.ctimeNs === undefined || odd.ctimeNs === ctimeNs) &&
        (odd.mtimeNs === undefined || odd.mtimeNs === mtimeNs);
    }
    const flags = this.#u32[slot * U32 + 5];
    const i = slot * I64;
    return (!(flags & HAS_CTIME_NS) || this.#i64[i + 1] === ctimeNs) &&
      (!(flags & HAS_MTIME_NS) || this.#i64[i] === mtimeNs);
  }

  /** Writes `s` into `slot`'s arrays; false when some field does not fit exactly. */
  #pack(slot: number, s: FileState): boolean {
    const { id } = s;
    if (!isU32(id.dev) || typeof id.ino !== "bigint" || id.ino < 0n || id.ino > MAX_U64) {
      return false;
    }
    if (typeof s.size !== "number" || typeof s.mtimeMs !== "number") return false;
    if (!isU32(s.mode) || !isU32(s.uid) || !isU32(s.gid)) return false;
    if (s.ctimeMs !== undefined && typeof s.ctimeMs !== "number") return false;
    if (s.nlink !== undefined && !isU32(s.nlink)) return false;
    if (s.mtimeNs !== undefined && !isI64(s.mtimeNs)) return false;
    if (s.ctimeNs !== undefined && !isI64(s.ctimeNs)) return false;
    if (s.btimeNs !== undefined && !isI64(s.btimeNs)) return false;
    if (s.linkTarget !== undefined && typeof s.linkTarget !== "string") return false;
    if (s.readError !== undefined && typeof s.readError !== "string") return false;
    if (s.attrs !== undefined && typeof s.attrs !== "string") return false;
    const type = ENTRY_TYPE_CODE.get(s.type);
    if (type === undefined) return false;
    if (s.sha256 !== undefined && !this.#packHex(slot, s.sha256)) return false;
    const u = slot * U32;
    const f = slot * F64;
    const i = slot * I64;
    let flags = type;
    this.#u32[u] = id.dev;
    this.#ino[slot] = id.ino;
    this.#f64[f] = s.size;
    this.#u32[u + 1] = s.mode;
    this.#u32[u + 2] = s.uid;
    this.#u32[u + 3] = s.gid;
    this.#f64[f + 1] = s.mtimeMs;
    if (s.ctimeMs !== undefined) {
      flags |= HAS_CTIME_MS;
      this.#f64[f + 2] = s.ctimeMs;
    }
    if (s.nlink !== undefined) {
      flags |= HAS_NLINK;
      this.#u32[u + 4] = s.nlink;
    }
    if (s.mtimeNs !== undefined) {
      flags |= HAS_MTIME_NS;
      this.#i64[i] = s.mtimeNs;
    }
    if (s.ctimeNs !== undefined) {
      flags |= HAS_CTIME_NS;
      this.#i64[i + 1] = s.ctimeNs;
    }
    if (s.btimeNs !== undefined) {
      flags |= HAS_BTIME_NS;
      this.#i64[i + 2] = s.btimeNs;
    }
    if (s.sha256 !== undefined) flags |= HAS_SHA;
    this.#u32[u + 5] = flags;
    return true;
  }

  /** Puts a 64-digit lowercase hex hash into `slot`'s 32 bytes; false when it is not one. */
  #packHex(slot: number, hex: unknown): boolean {
    if (typeof hex !== "string" || hex.length !== 64) return false;
    const at = slot * SHA;
    for (let k = 0; k < 32; k++) {
      const hi = hexValue(hex.charCodeAt(2 * k));
      const lo = hexValue(hex.charCodeAt(2 * k + 1));
      if (hi < 0 || lo < 0) return false;
      this.#sha[at + k] = (hi << 4) | lo;
    }
    return true;
  }

  #hexOf(slot: number): string {
    const at = slot * SHA;
    for (let k = 0; k < 32; k++) {
      const b = this.#sha[at + k];
      hexScratch[2 * k] = HEX_DIGITS[b >> 4];
      hexScratch[2 * k + 1] = HEX_DIGITS[b & 15];
    }
    return ascii.decode(hexScratch);
  }

  #grow(slots: number): void {
    const u32 = new Uint32Array(slots * U32);
    const f64 = new Float64Array(slots * F64);
    const ino = new BigUint64Array(slots);
    const i64 = new BigInt64Array(slots * I64);
    const sha = new Uint8Array(slots * SHA);
    u32.set(this.#u32);
    f64.set(this.#f64);
    ino.set(this.#ino);
    i64.set(this.#i64);
    sha.set(this.#sha);
    this.#u32 = u32;
    this.#f64 = f64;
    this.#ino = ino;
    this.#i64 = i64;
    this.#sha = sha;
    this.#slots = slots;
  }
}

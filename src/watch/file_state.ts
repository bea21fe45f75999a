/**
 * Reads what bpfink remembers about a file: identity, metadata and content
 * hash. The content hash streams the file, so size does not matter.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mayHoldPasswordHash } from "./hash_sniff.ts";
import type { InodeId } from "./inode_key.ts";
import { type EntryType, lstat, NativeFsError, NotContentError, readlink } from "./native_fs.ts";
import { contentSteps, driveReads, type ReadBudget, type ReadSteps } from "./safe_read.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { extraAttrs } from "./extra_attrs.ts";
import { errorMessage } from "../error_message.ts";

/** A file's state at one moment. */
export interface FileState {
  id: InodeId;
  size: number;
  /** Permission bits and type, as st_mode. */
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  /** Status change time: moves on any metadata change (xattrs, links, mode). */
  ctimeMs?: number;
  nlink?: number;
  /** mtime and ctime in nanoseconds (live reads; the store keeps milliseconds). */
  mtimeNs?: bigint;
  ctimeNs?: bigint;
  /**
   * Birth time in nanoseconds, when the file system keeps one: with the inode,
   * it tells a file from a new one that got its freed inode number (sameFile).
   */
  btimeNs?: bigint;
  /** What the path is (lstat: a symlink is a symlink, never its target). Default "file". */
  type?: EntryType;
  /** A symlink's target (never followed). */
  linkTarget?: string;
  /** sha256 of the content, hex; undefined for directories and unreadable files. */
  sha256?: string;
  /** Why the content could not be read, when it could not. */
  readError?: string;
  /** The content, when asked for and not larger than the limit (consumers parse it). */
  content?: Uint8Array;
  /** Whether `content` holds a NUL byte (not text), when the read told. */
  contentHasNul?: boolean;
  /** Whether `content` may hold a password hash (hash_sniff.ts), when the read told. */
  contentMayHoldHash?: boolean;
  /**
   * ACLs, capabilities, other extended attributes (by name and value digest)
   * and inode flags, as extra_attrs.ts writes them: "" for none, undefined
   * when not known (a record of an older bpfink, or they could not be read).
   */
  attrs?: string;
}

/** The largest read buffer: big files stream through it. */
const MAX_READ_BUFFER = 256 * 1024;

/**
 * Streams `path` through sha256; keeps the bytes when there are at most
 * `keepUpTo` of them. `sizeHint` (the size stat gave) sizes the read buffer:
 * a first baseline reads many small files, and a 256 KiB buffer for each
 * would make the process hold hundreds of MiB of garbage between collections.
 */
export async function sha256File(
  path: string,
  keepUpTo = 0,
  sizeHint = MAX_READ_BUFFER,
): Promise<{ sha256: string; content?: Uint8Array }> {
  const h = createHash("sha256");
  using f = await Deno.open(path, { read: true });
  // One byte more than the hint, so a file of the expected size ends in one read plus EOF.
  const buf = new Uint8Array(Math.min(MAX_READ_BUFFER, Math.max(4096, sizeHint + 1)));
  const kept: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    total += n;
    if (total <= keepUpTo) kept.push(buf.slice(0, n));
  }
  if (total > keepUpTo) return { sha256: h.digest("hex") };
  const content = new Uint8Array(total);
  let off = 0;
  for (const k of kept) {
    content.set(k, off);
    off += k.length;
  }
  return { sha256: h.digest("hex"), content };
}

/**
 * The state of `path`, or undefined when it does not exist. Never throws for a
 * vanished file. The path itself is described (lstat): a symlink is reported
 * as a link with its target, never hashed through; FIFOs, sockets, devices
 * and files on pseudo file systems are described but never opened for
 * reading. With `keepContentUpTo`, files up to that size come with their content.
 * Without `withAttrs`, `attrs` is left out (the caller knows them, or reads
 * them with readAttrs() only when the kernel said they may have changed).
 */
export async function readFileState(
  path: string,
  keepContentUpTo = 0,
  budget: ReadBudget = {},
  withAttrs = true,
): Promise<FileState | undefined> {
  return await driveReads(fileStateSteps(path, keepContentUpTo, budget, withAttrs));
}

/**
 * readFileState(), done before it returns when each read it makes is made
 * on this thread (ReadBudget.rootsHereUpTo's files); else a promise.
 */
export function readFileStateSoon(
  path: string,
  keepContentUpTo = 0,
  budget: ReadBudget = {},
  withAttrs = true,
): FileState | undefined | Promise<FileState | undefined> {
  return driveReads(fileStateSteps(path, keepContentUpTo, budget, withAttrs));
}

function* fileStateSteps(
  path: string,
  keepContentUpTo: number,
  budget: ReadBudget,
  withAttrs: boolean,
): ReadSteps<FileState | undefined> {
  const st = lstat(path);
  if (!st) return undefined;
  const attrs = withAttrs ? extraAttrs(path, st.attributes) : undefined;
  const state: FileState = {
    id: { dev: kernelIdentity.deviceOf(path, st.dev), ino: st.ino },
    size: st.size,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    mtimeMs: Number(st.mtimeNs / 1_000_000n),
    ctimeMs: Number(st.ctimeNs / 1_000_000n),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    btimeNs: kernelIdentity.keepsBirth(path) ? st.btimeNs : undefined,
    nlink: st.nlink,
    type: st.type,
  };
  if (attrs !== undefined) state.attrs = attrs;
  if (st.type === "symlink") {
    state.linkTarget = readlink(path);
    if (state.linkTarget === undefined) return undefined;
    return state;
  }
  if (st.type !== "file") return state;
  try {
    const r = yield* contentSteps(path, keepContentUpTo, budget);
    if (r.stat.ino !== st.ino || r.stat.dev !== st.dev) {
      // Replaced between lstat and open: describe what was read.
      return yield* fileStateSteps(path, keepContentUpTo, budget, withAttrs);
    }
    Object.assign(state, {
      size: r.stat.size,
      mode: r.stat.mode,
      uid: r.stat.uid,
      gid: r.stat.gid,
      mtimeMs: Number(r.stat.mtimeNs / 1_000_000n),
      ctimeMs: Number(r.stat.ctimeNs / 1_000_000n),
      mtimeNs: r.stat.mtimeNs,
      ctimeNs: r.stat.ctimeNs,
      btimeNs: state.btimeNs === undefined ? undefined : r.stat.btimeNs,
      nlink: r.stat.nlink,
    });
    if (r.sha256) state.sha256 = r.sha256;
    if (r.content) {
      state.content = r.content;
      state.contentHasNul = r.content.includes(0);
      state.contentMayHoldHash = mayHoldPasswordHash(r.content);
    }
    if (r.incomplete) state.readError = r.incomplete;
  } catch (e) {
    if (e instanceof NativeFsError && e.missing) return undefined;
    if (e instanceof NotContentError) {
      // Swapped for something else between lstat and open: describe that instead.
      const again = lstat(path);
      if (!again) return undefined;
      if (again.ino !== st.ino || again.type !== "file") {
        return yield* fileStateSteps(path, keepContentUpTo, budget, withAttrs);
      }
    }
    state.readError = errorMessage(e);
  }
  return state;
}

/**
 * The extended attributes and inode flags of `path` now (extra_attrs.ts),
 * undefined when they cannot be read: for a re-read that left them out.
 */
export function readAttrs(path: string): string | undefined {
  const st = lstat(path);
  return st ? extraAttrs(path, st.attributes) : undefined;
}

/**
 * Whether two states are of one file: the same device and inode number and,
 * when both know it, the same birth time. A file removed and made again under
 * its name can get the freed number back at once (ext4 does), never the old
 * birth time.
 */
export function sameFile(a: FileState, b: FileState): boolean {
  return a.id.dev === b.id.dev && a.id.ino === b.id.ino &&
    (a.btimeNs === undefined || b.btimeNs === undefined || a.btimeNs === b.btimeNs);
}

/** Whether two states differ in content or attributes (mtime included: a faked timestamp counts). */
export function stateChanged(a: FileState, b: FileState): boolean {
  if (a.mtimeNs !== undefined && b.mtimeNs !== undefined && a.mtimeNs !== b.mtimeNs) return true;
  if (a.ctimeNs !== undefined && b.ctimeNs !== undefined && a.ctimeNs !== b.ctimeNs) return true;
  // A live read always knows the type; a stored state from an older database may not, and
  // then neither its type nor its link target is known (compared when both sides know).
  if (a.type !== undefined && b.type !== undefined) {
    if (a.type !== b.type || a.linkTarget !== b.linkTarget) return true;
  }
  return a.sha256 !== b.sha256 || a.size !== b.size || a.mode !== b.mode || a.uid !== b.uid ||
    a.gid !== b.gid || a.mtimeMs !== b.mtimeMs ||
    (a.nlink !== undefined && b.nlink !== undefined && a.nlink !== b.nlink) ||
    (a.ctimeMs !== undefined && b.ctimeMs !== undefined && a.ctimeMs !== b.ctimeMs) ||
    (a.attrs !== undefined && b.attrs !== undefined && a.attrs !== b.attrs);
}

/** Each entry type's name, one string for every state (a state from a worker brings a copy). */
const TYPE_NAMES: Record<EntryType, EntryType> = {
  file: "file",
  dir: "dir",
  symlink: "symlink",
  fifo: "fifo",
  socket: "socket",
  chardev: "chardev",
  blockdev: "blockdev",
};

/**
 * `s` without its content, as the watch set keeps it in memory: one object
 * literal with every field (absent ones undefined), so V8 keeps them all in
 * the object itself. A state copied from a worker, or grown field by field,
 * keeps most of them in a second array; at 100,000 watched files that was
 * 9 MB of the heap.
 */
export function withoutContent(s: FileState): FileState {
  return {
    id: { dev: s.id.dev, ino: s.id.ino },
    size: s.size,
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
    nlink: s.nlink,
    mtimeNs: s.mtimeNs,
    ctimeNs: s.ctimeNs,
    btimeNs: s.btimeNs,
    type: s.type === undefined ? undefined : TYPE_NAMES[s.type] ?? s.type,
    linkTarget: s.linkTarget,
    sha256: s.sha256,
    readError: s.readError,
    attrs: s.attrs,
  };
}

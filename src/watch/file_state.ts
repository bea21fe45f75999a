/**
 * Reads what bpfink remembers about a file: identity, metadata and content
 * hash. The content hash streams the file, so size does not matter.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { InodeId } from "./inode_key.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";

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
  /** sha256 of the content, hex; undefined for directories and unreadable files. */
  sha256?: string;
  /** Why the content could not be read, when it could not. */
  readError?: string;
  /** The content, when asked for and not larger than the limit (consumers parse it). */
  content?: Uint8Array;
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
 * vanished file. With `keepContentUpTo`, files up to that size come with their content.
 */
export async function readFileState(
  path: string,
  keepContentUpTo = 0,
): Promise<FileState | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
  const state: FileState = {
    id: kernelIdentity.inodeOf(path, info),
    size: info.size,
    mode: info.mode ?? 0,
    uid: info.uid ?? -1,
    gid: info.gid ?? -1,
    mtimeMs: info.mtime?.getTime() ?? 0,
    ctimeMs: info.ctime?.getTime() ?? undefined,
    nlink: info.nlink ?? undefined,
  };
  if (info.isFile) {
    try {
      const { sha256, content } = await sha256File(path, keepContentUpTo, info.size);
      state.sha256 = sha256;
      if (content) state.content = content;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      state.readError = e instanceof Error ? e.message : String(e);
    }
  }
  return state;
}

/** Whether two states differ in content or attributes (mtime included: a faked timestamp counts). */
export function stateChanged(a: FileState, b: FileState): boolean {
  return a.sha256 !== b.sha256 || a.size !== b.size || a.mode !== b.mode || a.uid !== b.uid ||
    a.gid !== b.gid || a.mtimeMs !== b.mtimeMs ||
    (a.nlink !== undefined && b.nlink !== undefined && a.nlink !== b.nlink) ||
    (a.ctimeMs !== undefined && b.ctimeMs !== undefined && a.ctimeMs !== b.ctimeMs);
}

/** `s` without its content (what the watch set keeps in memory). */
export function withoutContent(s: FileState): FileState {
  if (!s.content) return s;
  const { content: _content, ...rest } = s;
  return rest;
}

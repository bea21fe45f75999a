/**
 * Reads a file's content for hashing without ever blocking or reading what
 * is not content: opened through native_fs.openRegular (no FIFO, device,
 * socket, symlink or pseudo file system), read off the event loop, within a
 * per-file size and time budget so one huge or endless file cannot hold up
 * the others.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type NativeStat, onLocalFs, openRegular, type RegularFile } from "./native_fs.ts";

/** Per-file limits of one content read. */
export interface ReadBudget {
  /** Stop hashing after this many bytes (default: no limit). */
  maxBytes?: number;
  /** Stop hashing after this many milliseconds (default 60 s). */
  maxMs?: number;
  /** Read with blocking calls on the calling thread (a worker's own), not off it. */
  onThisThread?: boolean;
  /**
   * Read with blocking calls on the calling thread a file of at most this
   * many bytes (fstat at open) that only root can write, on a local file
   * system (native_fs.onLocalFs): no user can make its read slow. For a
   * re-read that is not bulk work, of a file most likely just written, whose
   * pages are in memory. Off this thread each read waits for the event
   * loop's turn, and under a user's flood a re-read of root's file took
   * 30-480 ms so (bench/user_flood.ts).
   */
  rootsHereUpTo?: number;
  /**
   * A file larger than this (fstat at open) is not read at all: its metadata
   * is all that is compared (default HASH_MAX_BYTES). Reading a sparse file of a
   * terabyte costs no disk and no write, yet hashing its holes would take minutes.
   */
  maxSize?: number;
  /** Once aborted, the read stops at its next chunk and throws ReadAbortedError. */
  signal?: AbortSignal;
}

/** A read given up because its budget's signal was aborted (the agent stops). */
export class ReadAbortedError extends Error {
  constructor() {
    super("the read was abandoned: the agent is stopping");
    this.name = "ReadAbortedError";
  }
}

/**
 * Files larger than this are not hashed, at the first baseline as in the
 * live monitor: their metadata (size, mode, owner, inode, ns timestamps, so
 * every write and every truncation) is all that is compared, and the event
 * says so (`bpfink.not_read_whole`). Hashing costs time in proportion to the
 * size even for holes: a sparse file of a terabyte, which any user can make
 * in a microsecond, took the 60 s read limit.
 */
export const HASH_MAX_BYTES = 1 << 30;

/** The largest read buffer: big files stream through it. */
const MAX_READ_BUFFER = 256 * 1024;

/** What one content read found. */
export interface ContentRead {
  /** What was opened (fstat after open). */
  stat: NativeStat;
  /** sha256 of the whole content, hex; undefined when the budget ran out. */
  sha256?: string;
  /** The content, when at most `keepUpTo` bytes. */
  content?: Uint8Array;
  /** Why the hash is missing. */
  incomplete?: string;
}

/**
 * Streams regular file `path` through sha256. Throws NotContentError for
 * what is not a regular file on a real file system, NativeFsError when it
 * cannot be opened.
 */
export async function readContent(
  path: string,
  keepUpTo = 0,
  budget: ReadBudget = {},
): Promise<ContentRead> {
  return await driveReads(contentSteps(path, keepUpTo, budget));
}

/** readContent's steps, for a caller that drives its own (readFileStateSoon). */
export function* contentSteps(
  path: string,
  keepUpTo: number,
  budget: ReadBudget,
): ReadSteps<ContentRead> {
  // A read that a write tore (fstat after it differs from fstat before) is
  // rejected and done again; a file that never holds still is not hashed.
  for (let attempt = 1;; attempt++) {
    const r = yield* readOnce(path, keepUpTo, budget);
    if (!r.torn) return r;
    if (attempt >= TORN_ATTEMPTS) {
      return { stat: r.torn, incomplete: "not hashed: the file kept changing while it was read" };
    }
  }
}

/** A read that a content read's steps ask for: into `buf` from `file`; the byte count comes back. */
export interface ReadRequest {
  file: RegularFile;
  buf: Uint8Array<ArrayBuffer>;
}

/** The steps of a content read, written once for reads on this thread and off it (driveReads). */
export type ReadSteps<T> = Generator<ReadRequest, T, number>;

/** A read made: its byte count, the promise of one (off this thread), or its error. */
type Issued = { n: number } | { pending: Promise<number> } | { error: unknown };

function issue(req: ReadRequest): Issued {
  try {
    const n = req.file.read(req.buf);
    return typeof n === "number" ? { n } : { pending: n };
  } catch (error) {
    return { error };
  }
}

function resume<T>(steps: ReadSteps<T>, i: { n: number } | { error: unknown }) {
  return "error" in i ? steps.throw(i.error) : steps.next(i.n);
}

/**
 * Runs `steps` to their result: at once, on this thread, while each read is
 * made on it (RegularFile.onThisThread); a promise from the first read made
 * off it. Awaiting even a settled promise gives the turn to every handler
 * whose operation completed meanwhile, which under a flood was 30-140 ms a
 * turn (bench/user_flood.ts).
 */
export function driveReads<T>(steps: ReadSteps<T>): T | Promise<T> {
  for (let r = steps.next();;) {
    if (r.done) return r.value;
    const i = issue(r.value);
    if ("pending" in i) return driveOff(steps, i.pending);
    r = resume(steps, i);
  }
}

async function driveOff<T>(steps: ReadSteps<T>, pending: Promise<number>): Promise<T> {
  for (;;) {
    let got: { n: number } | { error: unknown };
    try {
      got = { n: await pending };
    } catch (error) {
      got = { error };
    }
    for (let r = resume(steps, got);;) {
      if (r.done) return r.value;
      const i = issue(r.value);
      if ("pending" in i) {
        pending = i.pending;
        break;
      }
      r = resume(steps, i);
    }
  }
}

/** Reads tried before a file that keeps changing is given up on. */
const TORN_ATTEMPTS = 3;

/** ReadBudget.rootsHereUpTo as openRegular's choice of thread (false: none). */
function readHere(upTo: number | undefined): false | ((fd: number, st: NativeStat) => boolean) {
  if (upTo === undefined) return false;
  return (fd, st) => st.size <= upTo && st.uid === 0 && (st.mode & 0o022) === 0 && onLocalFs(fd);
}

/** Whether two fstat()s of one open file show a change between them. */
function changed(a: NativeStat, b: NativeStat): boolean {
  return a.size !== b.size || a.mtimeNs !== b.mtimeNs || a.ctimeNs !== b.ctimeNs;
}

function* readOnce(
  path: string,
  keepUpTo: number,
  budget: ReadBudget,
): ReadSteps<ContentRead & { torn?: NativeStat }> {
  using f = openRegular(path, budget.onThisThread || readHere(budget.rootsHereUpTo));
  const maxSize = budget.maxSize ?? HASH_MAX_BYTES;
  if (f.stat.size > maxSize) {
    return {
      stat: f.stat,
      incomplete: `not hashed: ${f.stat.size} bytes, over the ${maxSize}-byte limit ` +
        `(metadata compared only)`,
    };
  }
  const maxBytes = budget.maxBytes ?? Infinity;
  const maxMs = budget.maxMs ?? 60_000;
  const h = createHash("sha256");
  const buf = new Uint8Array(Math.min(MAX_READ_BUFFER, Math.max(4096, f.stat.size + 1)));
  const kept: Uint8Array[] = [];
  const t0 = performance.now();
  let total = 0;
  // Past the size fstat gave at open, the file is growing under the read: a
  // writer appending faster than a read's round trip would keep it chasing the
  // end for as long as the writes go on. One fstat tells a change (torn: done
  // again or given up on) from a size the file system under-reports (read on).
  let checkedPast = false;
  for (;;) {
    if (budget.signal?.aborted) throw new ReadAbortedError();
    const n = yield { file: f, buf };
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    total += n;
    if (total > f.stat.size && !checkedPast) {
      const now = f.restat();
      if (changed(f.stat, now)) return { stat: f.stat, torn: now };
      checkedPast = true;
    }
    if (total <= keepUpTo) kept.push(buf.slice(0, n));
    if (total >= maxBytes) {
      return { stat: f.stat, incomplete: `not hashed: larger than the ${maxBytes}-byte budget` };
    }
    if (performance.now() - t0 > maxMs) {
      return { stat: f.stat, incomplete: `not hashed: reading took longer than ${maxMs} ms` };
    }
  }
  const after = f.restat();
  if (changed(f.stat, after)) return { stat: f.stat, torn: after };
  const sha256 = h.digest("hex");
  if (total > keepUpTo) return { stat: f.stat, sha256 };
  const content = new Uint8Array(total);
  let off = 0;
  for (const k of kept) {
    content.set(k, off);
    off += k.length;
  }
  return { stat: f.stat, sha256, content };
}

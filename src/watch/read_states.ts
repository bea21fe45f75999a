/**
 * Reading the states of many paths in order, on one thread: what a hashing
 * worker (hash_worker.ts) does with each batch, and what the main thread
 * does when no worker reads (parallel_reader.ts). Each regular file may be
 * marked for fanotify through the fd it is read by, before it is read
 * (open_file_mark.ts).
 *
 * @module
 */
import { type FileState, readFileState } from "./file_state.ts";
import type { RegularFile } from "./native_fs.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { type Marked, markOpenFile, type OpenFileMarkSpec } from "../fanotify/open_file_mark.ts";
import { errorMessage } from "../error_message.ts";

/** A path to read, with the content size up to which its content is wanted. */
export interface ReadItem {
  path: string;
  keepContentUpTo: number;
}

/** A path's state, undefined when it does not exist, or why it could not be read. */
export type ReadResult = FileState | undefined | { error: string };

/** The states of a batch, in order, and (when asked for) each file's mark. */
export interface ReadBatch {
  results: ReadResult[];
  /** The mark placed on each result's inode before it was read; undefined where none was. */
  marks?: (Marked | undefined)[];
}

/** One batch sent to a worker. */
export interface ReadRequest {
  id: number;
  items: ReadItem[];
  /** Mark each regular file through the fd it is read by, before reading it. */
  mark?: OpenFileMarkSpec;
}

/**
 * Reads `items` on this thread: `blocking` (a worker's own thread) one after
 * the other with blocking reads, else a few files at a time, each read off
 * the event loop. With `mark`, each regular file is marked through its fd
 * before it is read, and `marks` says how each went.
 */
export async function readStates(
  items: ReadItem[],
  mark: OpenFileMarkSpec | undefined,
  blocking: boolean,
): Promise<ReadBatch> {
  const results: ReadResult[] = new Array(items.length);
  const marks: (Marked | undefined)[] | undefined = mark
    ? new Array(items.length).fill(undefined) // dense: a hole would not survive a postMessage
    : undefined;
  const one = async (i: number) => {
    const t = items[i];
    // Each open is marked (a torn or replaced read opens again); the mark kept is the one
    // on the inode whose state is returned.
    let last: { m?: Marked; ino: bigint; dev: number } | undefined;
    const afterOpen = mark
      ? (f: RegularFile) => {
        last = {
          m: markOpenFile(mark, f.fd, f.stat.dev),
          ino: f.stat.ino,
          dev: kernelIdentity.deviceOf(t.path, f.stat.dev),
        };
      }
      : undefined;
    try {
      const s = results[i] = await readFileState(t.path, t.keepContentUpTo, {
        onThisThread: blocking,
        afterOpen,
      });
      if (marks && s?.type === "file" && last && s.id.ino === last.ino && s.id.dev === last.dev) {
        marks[i] = last.m;
      }
    } catch (e) {
      results[i] = { error: errorMessage(e) };
    }
  };
  const at = blocking ? 1 : 32;
  for (let i = 0; i < items.length; i += at) {
    const n = Math.min(at, items.length - i);
    await Promise.all(Array.from({ length: n }, (_, k) => one(i + k)));
  }
  return marks ? { results, marks } : { results };
}

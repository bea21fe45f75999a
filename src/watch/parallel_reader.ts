/**
 * Reads many files' states at once on the other cores: the first baseline
 * of a large tree hashes in Web Workers (hash_worker.ts), while the main
 * thread records what they read. A single-file build starts them from the
 * worker's bundled script (hash_worker_source.ts), a run from source from
 * hash_worker.ts. Where no worker can start (a worker that died, one that
 * could not be created), the states are read on the main thread instead,
 * the same way: slower, never wrong, and said once.
 *
 * @module
 */
import { readFileState } from "./file_state.ts";
import {
  joinMarks,
  type PackedResults,
  packItems,
  type ReadItem,
  type ReadResult,
  releaseBuffers,
  unpackResults,
} from "./read_batch.ts";
import { HASH_WORKER_SOURCE } from "./hash_worker_source.ts";
import { nativeLibraryPath } from "../native/native_library.ts";
import { NativeReader } from "./native_reader.ts";
import { xattrDigestKey } from "./extra_attrs.ts";
import { log } from "../log.ts";
import { errorMessage } from "../error_message.ts";
import type { MarkArrays } from "../fanotify/native_marks.ts";

export type { ReadItem, ReadResult } from "./read_batch.ts";

/**
 * A slice of a window as read: its states (packed as the worker sent them, or
 * read here), and the marks placed before reading, if asked.
 */
interface Slice {
  results?: ReadResult[];
  packed?: PackedResults;
  marks?: MarkArrays;
}

/** How many states `s` holds. */
const sliceLength = (s: Slice) => s.results?.length ?? s.packed!.flags.length;

/**
 * A window as read, its states not yet made objects: take() makes them. A
 * state made when its window arrives and used windows later (the caller
 * reads ahead) outlives a young-generation collection or two and is copied
 * into the old generation, where it stays, dead, until a full collection:
 * at 100,000 files that was most of the first baseline's peak heap.
 */
export interface ReadWindow {
  /** The states, in order (made on each call: call it once, when they are used). */
  take(): ReadResult[];
  /** The marks placed before reading, when the window asked for any. */
  marks?: MarkArrays;
  /**
   * Frees the contents the workers kept for the window's states at once
   * (releaseBuffers()). Call it only when nothing holds a state's content
   * any more: a view into them reads as empty after.
   */
  release(): void;
}

interface Lane {
  worker: Worker;
  pending: Map<number, { resolve: (r: Slice) => void; reject: (e: unknown) => void }>;
  dead?: string;
}

const WORKER_URL = new URL("./hash_worker.ts", import.meta.url);

/** Files to read from which workers start (fewer are read on the main thread in moments). */
const WORKERS_FROM = 2000;

/**
 * Where a worker starts from: the bundled script (as a blob URL, revoked by
 * `release`), else hash_worker.ts beside this module; undefined when
 * neither is there.
 */
function workerScript(): { url: string; release: () => void } | undefined {
  if (HASH_WORKER_SOURCE) {
    const url = URL.createObjectURL(new Blob([HASH_WORKER_SOURCE], { type: "text/javascript" }));
    return { url, release: () => URL.revokeObjectURL(url) };
  }
  if (WORKER_URL.protocol !== "file:") return undefined;
  try {
    return Deno.statSync(WORKER_URL).isFile
      ? { url: WORKER_URL.href, release: () => {} }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The hashing workers for a machine of `cores` cores: one fewer than the
 * cores, at least one, at most two. The main thread records what they read
 * and is a first baseline's critical path: it keeps a core to itself. On
 * two cores, a second worker made the start slower (its isolate, and three
 * busy threads on two cores); two keep up with the main thread.
 */
export function workersFor(cores: number): number {
  return Math.max(1, Math.min(2, cores - 1));
}

/** Reads file states in worker threads, in order. */
export class ParallelReader {
  readonly #lanes: Lane[] = [];
  #next = 0;
  #ids = 0;
  #closed = false;
  #script?: { url: string; release: () => void };
  #native?: string;

  /**
   * Starts `workers` workers (default: workersFor() the cores); 0 reads on
   * this thread. `native`: the native library the workers read the common
   * case with (native_reader.ts): default bpfink's own, when it has one;
   * null for none.
   */
  constructor(
    workers = workersFor(navigator.hardwareConcurrency || 1),
    opts: { native?: string | null } = {},
  ) {
    if (workers <= 0) return;
    const native = opts.native === undefined ? nativeLibraryPath() : opts.native ?? undefined;
    if (native !== undefined) {
      // Opened here once, so that a library that will not load is said once, not per worker.
      const r = NativeReader.open(native);
      if (r instanceof NativeReader) {
        r.close();
        this.#native = native;
      } else log("watch").warn(`${r.error}: files are read the slower way`);
    }
    const script = this.#script = workerScript();
    if (!script) {
      log("watch").warn("the hashing workers' module is missing: files are read on this thread");
      return;
    }
    for (let i = 0; i < workers; i++) {
      let worker: Worker;
      try {
        worker = new Worker(script.url, { type: "module", name: `bpfink-hash-${i}` });
      } catch (e) {
        log("watch").warn(
          `a hashing worker could not start (${errorMessage(e)}): files are read on this thread`,
        );
        break;
      }
      const lane: Lane = { worker, pending: new Map() };
      lane.worker.onmessage = (m: MessageEvent<PackedResults>) => {
        const p = lane.pending.get(m.data.id);
        lane.pending.delete(m.data.id);
        p?.resolve({ packed: m.data, marks: m.data.marks });
      };
      lane.worker.onerror = (e) => {
        e.preventDefault();
        lane.dead = e.message || "worker failed";
        log("watch").warn(`a hashing worker failed (${lane.dead}): its files are read here`);
        for (const p of lane.pending.values()) p.reject(new Error(lane.dead));
        lane.pending.clear();
        lane.worker.terminate();
      };
      this.#lanes.push(lane);
    }
  }

  /**
   * A reader for `files` paths: workers only when there are enough files to
   * pay for them (each worker is a JavaScript isolate of its own, tens of MB
   * while it lives, and a malloc arena that outlives it).
   */
  static for(files: number): ParallelReader {
    return new ParallelReader(files >= WORKERS_FROM ? undefined : 0);
  }

  /** The native library the workers read with (native_reader.ts), if any. */
  get native(): string | undefined {
    return this.#native;
  }

  /** How many workers read (0: the main thread does). */
  get workers(): number {
    return this.#lanes.filter((l) => !l.dead).length;
  }

  /**
   * The states of `items`' paths, in order, each with its content when it is
   * at most the item's `keepContentUpTo` bytes. Split across the workers; a
   * batch a worker could not read is read here.
   */
  async read(items: ReadItem[]): Promise<ReadResult[]> {
    return (await this.readAndMark(items)).results;
  }

  /**
   * As read(), and each item with a `mark` is first marked for fanotify
   * group `group` by the worker that reads it, through the fd it reads it
   * by (native/file_reader.c): `marks` says what became of each (none tried
   * for what was read here, without the native reader).
   */
  async readAndMark(
    items: ReadItem[],
    group?: number,
  ): Promise<{ results: ReadResult[]; marks?: MarkArrays }> {
    const w = await this.readWindow(items, group);
    return { results: w.take(), marks: w.marks };
  }

  /**
   * As readAndMark(), the states made only when take() is called: for a
   * caller that reads windows ahead of those it uses.
   */
  async readWindow(items: ReadItem[], group?: number): Promise<ReadWindow> {
    const lanes = this.#lanes.filter((l) => !l.dead);
    if (lanes.length === 0) {
      const results = await readHere(items);
      // Each content read here is a buffer of its own, freed as any object is.
      return { take: () => results, release: () => {} };
    }
    const per = Math.ceil(items.length / lanes.length);
    const parts = await Promise.all(lanes.map((_, i) => {
      const slice = items.slice(i * per, (i + 1) * per);
      const lane = lanes[(this.#next + i) % lanes.length];
      return slice.length
        ? this.#send(lane, slice, group)
        : Promise.resolve<Slice>({ results: [] });
    }));
    this.#next++;
    return {
      take: () => parts.flatMap((p) => p.results ?? unpackResults(p.packed!)),
      marks: joinMarks(parts.map((p) => ({ marks: p.marks, n: sliceLength(p) }))),
      release: () => {
        for (const p of parts) if (p.packed) releaseBuffers(p.packed);
      },
    };
  }

  async #send(lane: Lane, items: ReadItem[], group?: number): Promise<Slice> {
    const id = ++this.#ids;
    try {
      return await new Promise<Slice>((resolve, reject) => {
        if (lane.dead) return reject(new Error(lane.dead));
        lane.pending.set(id, { resolve, reject });
        const packed = packItems(id, items, this.#native, group);
        // The digests' key as it is now: set by the agent from the host key before any read.
        packed.attrsKey = xattrDigestKey();
        lane.worker.postMessage(packed);
      });
    } catch {
      if (this.#closed) return { results: items.map(() => ({ error: "the reader was closed" })) };
      return { results: await readHere(items) };
    }
  }

  /** Stops the workers. */
  close(): void {
    this.#closed = true;
    for (const l of this.#lanes) {
      l.dead ??= "closed";
      l.worker.terminate();
      for (const p of l.pending.values()) p.reject(new Error("closed"));
    }
    this.#script?.release();
    this.#script = undefined;
  }
}

/** Reads on this thread, a few files at a time (each read waits off the event loop). */
async function readHere(items: ReadItem[]): Promise<ReadResult[]> {
  const out: ReadResult[] = [];
  for (let i = 0; i < items.length; i += 32) {
    out.push(
      ...await Promise.all(
        items.slice(i, i + 32).map((t) =>
          readFileState(t.path, t.keepContentUpTo).catch((e): ReadResult => ({
            error: errorMessage(e),
          }))
        ),
      ),
    );
  }
  return out;
}

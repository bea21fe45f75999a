/**
 * The first read at start: every target is watched, then read and compared
 * with the stored baseline. A path seen for the first time is adopted
 * silently; a path that changed, appeared or disappeared while bpfink was
 * down is reported with reason `offline`.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { FileChange } from "../pipeline/file_change.ts";
import { classify } from "../watch/file_monitor.ts";
import { log } from "../log.ts";
import { errorMessage } from "../error_message.ts";
import { type BaselineRecord, stateOfRecord } from "../store/baseline_store.ts";
import type { FileState } from "../watch/file_state.ts";
import { ParallelReader, type ReadWindow } from "../watch/parallel_reader.ts";
import type { WatchSet } from "../watch/watch_set.ts";
import type { EntryType } from "../watch/native_fs.ts";
import { FILE_MASK } from "../fanotify/fanotify_abi.ts";
import { markResultsOf, type NativeMarkResults } from "../fanotify/native_marks.ts";
import type { StartTargets } from "./watch_rules.ts";
import {
  madeWhileWatched,
  topsOf,
  watchAbove,
  WATCHED_TOPS,
  watchedTopsIn,
  type WatchTarget,
} from "../watch/watch_targets.ts";
import { lstat } from "../watch/native_fs.ts";
import { HeapCeiling } from "./heap_ceiling.ts";
import {
  ATTRS_DIGEST_KEYED,
  ATTRS_DIGEST_META,
  digestsUnkeyed,
  recordedState,
} from "../store/attrs_digest.ts";

/** Files read at once by the workers (decisions are still taken in order). */
const WINDOW = 256;
/** Windows read ahead: the workers never wait for this thread to ask for more. */
const AHEAD = 3;
/**
 * First sightings committed per transaction: each window's as it is
 * recorded. Held for 1,000 files, their states and records outlived the
 * young generation's collections and filled the old generation with the
 * dead until a full collection.
 */
const BATCH = WINDOW;
/**
 * Garbage let grow in the heap during the read before a full collection
 * (HeapCeiling): at 100,000 files, with 24 MB, peak RSS 203-214 MiB where
 * V8's own schedule let it reach 257-279, for five collections of 25-45 ms
 * (0.2 s more CPU, 5%; 16 MB: 193-208 MiB, more CPU; 32 MB: 210-219, less).
 */
const HEAP_MARGIN = 24 << 20;

/** The baseline records the startup read compares with. */
export interface StartupStore {
  paths(): string[];
  get(path: string): BaselineRecord | undefined;
  commit(updates: [string, BaselineRecord | undefined][], events: ChangeEvent[]): unknown;
  /** A first baseline's writes skip the write-ahead log until endBulk() (BaselineStore). */
  beginBulk?(): void;
  endBulk?(): void;
  meta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Takes old lines of files now hidden from others out of the database (BaselineStore). */
  forgetHiddenLines?(paths: ReadonlySet<string>): void;
  deleteMeta(key: string): void;
}

/**
 * Set in the meta table while a first baseline is being recorded, removed
 * when it is complete: found at a start, the last one stopped (kill -9,
 * power loss) before it finished, and its records are not a baseline to
 * report files as created against.
 */
export const FIRST_BASELINE_KEY = "first_baseline";

/** Where the startup read sends what it finds. */
export interface StartupPipeline {
  /** The state as the baseline would record it (secret content keyed). */
  keyed(path: string, state: FileState | undefined): FileState | undefined;
  /** Reports a change. */
  handle(change: FileChange): void;
  /** Adopts first sightings silently, in one transaction. */
  adoptMany(items: [string, FileState | undefined][]): void;
  /** Bytes of `path`'s content worth keeping from its read (0: a hash is enough). */
  contentWanted(path: string): number;
  /**
   * The snapshot to keep in place of `stored`, the text of a file now hidden from
   * others (ChangePipeline.hiddenText); undefined when `stored` may stay.
   */
  hiddenText?(path: string, state: FileState, stored: unknown): unknown;
}

/** Inodes watched before their first read (EarlyWatch). */
export interface StartupEarlyWatch {
  before(items: readonly { path: string; kind: "file" | "dir" }[]): void;
  /** Which of a window's items the hashing workers mark as they read them, for which group. */
  workerMarks?(
    items: readonly { path: string; kind: "file" | "dir"; type?: EntryType }[],
  ): { group: number; theirs: boolean[] } | undefined;
  /** Keeps what the workers' marks of a window's items mean. */
  keepWorkerMarks?(
    items: readonly { path: string; kind: "file" | "dir" }[],
    marks: NativeMarkResults,
  ): void;
  /** Called when a window was read, before the watch set records it. */
  beforeRecording(): void;
  settle(final?: boolean): void;
}

/** What the startup read uses. */
export interface StartupDeps {
  watch: WatchSet;
  store: StartupStore;
  pipeline: StartupPipeline;
  /** Tells the monitor that `path` has its baseline (events about it may be handled now). */
  baselined(path: string): void;
  early?: StartupEarlyWatch;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, bytes: number) => void;
  /**
   * The hashing workers, when the caller started them already (their start
   * then overlaps the kernel object's load); closed here. Default: started
   * here, for the number of targets.
   */
  reader?: ParallelReader;
}

/** How the startup read went, for the start record. */
export interface StartupRead {
  /** Paths read. */
  paths: number;
  /** Hashing workers that read them (0: this thread did). */
  workers: number;
  /** Milliseconds from watching the first path to recording the last. */
  ms: number;
}

/**
 * Watches every target, then reads each and compares it with the stored baseline.
 *
 * @throws the abort reason when `deps.signal` aborts (between windows of files).
 */
export async function readStartupBaseline(
  deps: StartupDeps,
  { targets, missing }: StartTargets,
): Promise<StartupRead> {
  const started = performance.now();
  const { watch, store, pipeline, early } = deps;
  const all = [...targets, ...missing];
  watch.reserve(all.length);
  // Watch the name and inode first, then read: a change after this point sends an event. A
  // window's names reach the kernel's maps in one batch before its first read, so the workers
  // read the first windows while this thread adds the next. Nothing else adds a path of the
  // targets meanwhile: a directory listed before its files are added leaves them to this read
  // (expect()), and the files a watched file includes are followed after it.
  watch.expect(all.map((t) => t.path));
  const addWindow = (chunk: readonly WatchTarget[]) =>
    watch.keys.batch(() => {
      for (const t of chunk) {
        watch.add(t.path, t.kind, t.root, {
          recursive: t.recursive,
          shallow: t.shallow,
          awaitingBaseline: true,
        });
      }
    });
  const recorded = new Set(store.paths());
  const tops = topsOf(all);
  // The watches the last start had: a path of theirs with no record is new, however it came.
  const watchedBefore = store.meta ? watchedTopsIn((k) => store.meta!(k)) : undefined;
  const known = new Set(recorded);
  // A first baseline that did not finish: what it recorded is compared, what it did not reach
  // is adopted silently (never "created" because its directory was recorded before its files).
  const unfinished = store.meta(FIRST_BASELINE_KEY) !== undefined;
  if (unfinished) {
    log("store").warn(
      `the first baseline did not finish (bpfink stopped during it): it is taken again; ` +
        `files it had not recorded are recorded now, not reported as created`,
    );
  } else if (recorded.size === 0) store.setMeta(FIRST_BASELINE_KEY, new Date().toISOString());
  // A first baseline (or one taken again), marked unfinished above until it is recorded: cut
  // short, it is taken again whatever it wrote, so it skips the write-ahead log meanwhile.
  const first = unfinished || recorded.size === 0;
  if (first) store.beginBulk?.();
  // Attrs an older bpfink recorded with unkeyed digests: compared by all but their digests, and
  // recorded again keyed (attrs_digest.ts), never reported for the new digests.
  const unkeyed = digestsUnkeyed((k) => store.meta(k), recorded.size);
  // A first baseline records keyed digests only, finished or not.
  if (recorded.size === 0) store.setMeta(ATTRS_DIGEST_META, ATTRS_DIGEST_KEYED);
  let done = 0;
  let bytes = 0;
  let adoptions: [string, FileState | undefined][] = [];
  const backfill: [string, BaselineRecord][] = [];
  // Paths whose text an older bpfink kept though others may not read them (hiddenText).
  const hiddenNow = new Set<string>();
  // Workers read (stat, hash) a window of files while this thread records the one before.
  const reader = deps.reader ?? ParallelReader.for(all.length);
  // With the native reader, the workers mark each regular file for fanotify before they read it,
  // through the fd they read it by: this thread then makes no call of its own per file.
  const native = reader.native !== undefined && reader.workers > 0;
  const readWindow = async (i: number): Promise<ReadWindow> => {
    const chunk = all.slice(i, i + WINDOW);
    addWindow(chunk);
    const theirs = native ? early?.workerMarks?.(chunk) : undefined;
    // Each other inode enters the kernel map before its first read (EarlyWatch).
    early?.before(theirs ? chunk.filter((_, j) => !theirs.theirs[j]) : chunk);
    const read = await reader.readWindow(
      chunk.map((t, j) => ({
        path: t.path,
        keepContentUpTo: pipeline.contentWanted(t.path),
        mark: theirs?.theirs[j] ? FILE_MASK : 0,
      })),
      theirs?.group,
    );
    if (theirs && read.marks) early?.keepWorkerMarks?.(chunk, markResultsOf(read.marks));
    return read;
  };
  const ahead: Promise<ReadWindow>[] = [];
  // Checked between windows: a full collection once the read's garbage passes HEAP_MARGIN.
  const ceiling = new HeapCeiling(HEAP_MARGIN);
  // Windows used whose states are not all recorded yet (adoptions wait for a full batch).
  let unreleased: ReadWindow[] = [];
  const releaseWindows = () => {
    for (const w of unreleased) w.release();
    unreleased = [];
  };
  let workers = 0;
  try {
    for (let i = 0; i < all.length; i += WINDOW) {
      deps.signal?.throwIfAborted();
      const chunk = all.slice(i, i + WINDOW);
      for (
        let k = i + ahead.length * WINDOW;
        ahead.length < AHEAD && k < all.length;
        k += WINDOW
      ) {
        ahead.push(readWindow(k));
      }
      // The window's states are made now, as they are used (ReadWindow).
      const window = await ahead.shift()!;
      const results = window.take();
      early?.beforeRecording();
      for (const [j, t] of chunk.entries()) {
        deps.onProgress?.(done++, all.length, bytes);
        const r = results[j];
        if (r && "error" in r) {
          log("watch").warn(`cannot read ${t.path}: ${r.error}`);
          deps.baselined(t.path);
          continue;
        }
        const state = r;
        watch.setState(t.path, state);
        deps.baselined(t.path);
        if (state?.sha256) bytes += state.size;
        known.delete(t.path);
        // A path not recorded at the start has no record (a first baseline reads none).
        const rec = recorded.has(t.path) ? store.get(t.path) : undefined;
        // A path new below a directory its watch had recorded was made while we were down,
        // however deep under directories made meanwhile (bpfink check says the same); not after
        // an unfinished first baseline, whose records are no baseline to compare with.
        const made = !unfinished && !rec && !!state && recorded.size > 0 &&
          madeWhileWatched(t.path, tops.get(t.root) ?? t.path, recorded, watchedBefore);
        if (!rec && !made) {
          if (state) adoptions.push([t.path, state]);
          continue;
        }
        const before = rec ? recordedState(rec, state, unkeyed) : undefined;
        const action = classify(t.kind, before, pipeline.keyed(t.path, state));
        if (!action) {
          // A record of an older bpfink, which kept no ACLs, xattrs or inode flags (or kept
          // their digests unkeyed): they are recorded now, the rest as it was, so a change made
          // during the next stop is found.
          let kept = rec;
          if (
            rec && state?.attrs !== undefined && rec.attrs !== state.attrs &&
            (rec.attrs === undefined || unkeyed)
          ) {
            kept = { ...rec, attrs: state.attrs };
          }
          // The text an older bpfink kept of a file others may not read: fingerprinted now.
          const hidden = kept && state
            ? pipeline.hiddenText?.(t.path, state, kept.snapshot)
            : undefined;
          if (kept && hidden) {
            kept = { ...kept, snapshot: hidden };
            hiddenNow.add(t.path);
          }
          if (kept && kept !== rec) backfill.push([t.path, kept]);
          continue;
        }
        pipeline.handle({
          action,
          path: t.path,
          kind: t.kind,
          root: t.root,
          before,
          after: state,
          folded: 0,
          reason: "offline",
        });
      }
      early?.settle();
      unreleased.push(window);
      if (adoptions.length >= BATCH) {
        pipeline.adoptMany(adoptions);
        adoptions = [];
      }
      // Every state of these windows is recorded (in the store, the watch set): their contents
      // are freed now, not at the next full collection (releaseBuffers()).
      if (adoptions.length === 0) releaseWindows();
      ceiling.check();
    }
    workers = reader.workers;
  } finally {
    reader.close();
    watch.expect(undefined);
    // Synced and back to the write-ahead log before the first baseline is marked finished.
    if (first) store.endBulk?.();
  }
  early?.settle(true);
  pipeline.adoptMany(adoptions);
  releaseWindows();
  if (backfill.length) store.commit(backfill, []);
  if (hiddenNow.size) store.forgetHiddenLines?.(hiddenNow);
  deps.onProgress?.(all.length, all.length, bytes);
  reportVanished(deps, known, tops);
  if (first) store.deleteMeta(FIRST_BASELINE_KEY);
  try {
    store.setMeta(WATCHED_TOPS, JSON.stringify([...tops.values()]));
    // Unrecorded, the next start compares attrs by all but their digests again: no harm.
    store.setMeta(ATTRS_DIGEST_META, ATTRS_DIGEST_KEYED);
  } catch (e) {
    // Without it the next start falls back to recorded directories: a watched path missing
    // now and made meanwhile would be adopted there, not reported.
    log("store").warn(`cannot record the watched paths: ${errorMessage(e)}`);
  }
  return { paths: all.length, workers, ms: Math.round(performance.now() - started) };
}

/**
 * Recorded paths not read now. One gone from the disk below a watch's path was deleted while
 * we were down, however deep in a removed subtree (`rm -rf a` reports `a` and everything
 * recorded under it, as `bpfink check` does); one outside every watch, or still there but no
 * longer watched (excluded, a watch no longer recursive), is forgotten quietly.
 */
function reportVanished(
  { watch, store, pipeline }: StartupDeps,
  known: Set<string>,
  tops: ReadonlyMap<string, string>,
): void {
  const forget: [string, undefined][] = [];
  for (const p of [...known].sort()) {
    if (watch.get(p)) continue;
    const rec = store.get(p);
    const w = watchAbove(p, tops);
    let gone = false;
    try {
      gone = w !== undefined && lstat(p) === undefined;
    } catch {
      continue; // cannot tell: keep the record
    }
    if (rec && w && gone) {
      pipeline.handle({
        action: "deleted",
        path: p,
        kind: rec.type === "dir" ? "dir" : "file",
        root: w.root,
        before: stateOfRecord(rec),
        folded: 0,
        reason: "offline",
      });
    } else forget.push([p, undefined]);
  }
  if (forget.length) store.commit(forget, []);
}

/**
 * fanotify marks on the directories above watched paths (every directory
 * that holds the name of another directory above a watched path, up to /),
 * for what the syscall hooks cannot see: an ancestor renamed, removed or made
 * through io_uring (IORING_OP_RENAMEAT, UNLINKAT, MKDIRAT) is no syscall, and
 * without these marks it was found by the periodic reconcile only.
 *
 * A group of its own, with entry names (FAN_REPORT_DFID_NAME): its marks never
 * mix with the safety net's (fanotify_source.ts), whose masks are muted and
 * removed per inode. Each ancestor is marked for FAN_RENAME (5.17+: one event
 * with the old and the new directory and name) or, where the kernel refuses
 * it, FAN_MOVED_FROM | FAN_MOVED_TO, and FAN_CREATE | FAN_DELETE, with
 * FAN_ONDIR. From 6.0 the same bits in an ignore mask without FAN_ONDIR
 * (FAN_MARK_IGNORE) spare directories: only subdirectories' entries are then
 * read, and the files made and replaced beside them (`sed -i`, editors' saves)
 * cost nothing. fanotify cannot narrow a mark to some names, so the events
 * read about other names are dropped here (counted:
 * bpfink_fanotify_ancestor_other_names_total); before 6.0, files' too.
 * Without names (before 5.9) there is no group, and an ancestor renamed
 * unseen waits for the reconcile, as before.
 *
 * An event about an ancestor's name waits GRACE_MS for the BPF event of the
 * same change: when the paths below were looked up again since it was read,
 * it is covered; else it is fed to the monitor as that BPF event would be
 * (the paths below looked up again at once), naming the process /proc showed
 * for its pid, or no process (pid 0: an unprivileged listener).
 *
 * @module
 */
import { GraceQueue } from "./grace_queue.ts";
import { FanMask, InfoType } from "../fanotify/fanotify_abi.ts";
import { FanotifyGroup, type Marked, markKey } from "../fanotify/fanotify_group.ts";
import { FanotifyError } from "../fanotify/fanotify_reader.ts";
import { type FanEvent, type FanFid, parseFanotify } from "../fanotify/fanotify_records.ts";
import { FimOp } from "../kernel/fim_event.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { errorMessage } from "../error_message.ts";
import { Errno } from "../errno.ts";
import type { AttributedEvent } from "./attribution.ts";
import { type InodeId, inodeKeyString, inodeOfKeyString } from "./inode_key.ts";
import { decodePathBytes } from "./path_bytes.ts";
import { eventFromProc, type ExitedLookup, type ProcFactsCache } from "./proc_event.ts";
import { SetMap } from "./set_map.ts";
import type { DirKeys } from "./kernel_keys.ts";
import type { WatchSet } from "./watch_set.ts";
import { lstat } from "./native_fs.ts";
import { childPath, parentPath } from "./path_names.ts";
import { GRACE_MS } from "./fanotify_source.ts";

/** Why a change of an ancestor names no process. */
const UNKNOWN = "an ancestor directory changed where the syscall hooks could not see it " +
  "(seen by fanotify only, which named no process): unknown process";

const ENTRY = FanMask.CREATE | FanMask.DELETE | FanMask.ONDIR;
/** The masks tried, best first: FAN_RENAME (5.17+), else the two halves of a move. */
export const ANCESTOR_MASKS = [
  ENTRY | FanMask.RENAME,
  ENTRY | FanMask.MOVED_FROM | FanMask.MOVED_TO,
] as const;

const MOVES = FanMask.RENAME | FanMask.MOVED_FROM | FanMask.MOVED_TO;

/** What the marks need from a fanotify group (FanotifyGroup). */
export interface AncestorGroup {
  readonly names: boolean;
  mark(path: string, id: InodeId, mask: number, was?: "dir"): Marked | undefined;
  unmark(m: Marked, mask: number): void;
  ignoreNonDirs(m: Marked, mask: number, add: boolean): boolean;
  start(onBytes: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
  readonly done: Promise<void>;
}

/** What the marks feed (the file monitor). */
export interface AncestorSink {
  onKernelEvent(e: AttributedEvent): void;
  ancestorChangedUnseen(path: string, unattributed: string): void;
  ancestorCheckedSince(path: string, t: number): boolean;
  rescan(reason: "rescan"): void;
}

interface Pending {
  readAt: number;
  /** The ancestor's path (its name in a marked directory). */
  path: string;
  event?: AttributedEvent;
}

interface MarkRec {
  m: Marked;
  mask: number;
  /** The bits ignored for other entries than directories (0: all are read). */
  ignored: number;
  /** Its paths above watched ones (one, unless bind mounts show it twice). */
  dirs: Set<string>;
}

/** fanotify marks on the directories above watched paths, and the events they bring. */
export class AncestorMarks {
  /** Marked directories by inode key. */
  readonly #marks = new Map<string, MarkRec>();
  /** Their inode keys by the handle their events carry. */
  readonly #byHandle = new SetMap<string, string>();
  readonly #pending: GraceQueue<Pending>;
  /** Index in the masks of the one this kernel takes. */
  #maskAt = 0;
  /**
   * Whether the kernel ignores other entries than directories for the marks
   * (FAN_MARK_IGNORE, 6.0+); undefined until the first mark asked.
   */
  #narrows?: boolean;
  #keys?: DirKeys;
  #watch?: WatchSet;
  #sink?: AncestorSink;
  #stopped = false;
  #warnedMark = false;
  /** Names an event's process that has left /proc by the time its event is read. */
  exited?: ExitedLookup;
  /** Counters for metrics. */
  readonly counts = {
    events: 0,
    otherNames: 0,
    fed: 0,
    covered: 0,
    markFailures: 0,
    overflows: 0,
  };

  constructor(
    readonly group: AncestorGroup,
    readonly opts: {
      warn: (message: string) => void;
      graceMs?: number;
      /** The masks to try, best first (default ANCESTOR_MASKS); EINVAL moves to the next. */
      masks?: readonly number[];
      /** false: every entry's events are read, as before 6.0 (default: only directories' where the kernel can). */
      narrow?: boolean;
    },
  ) {
    this.#pending = new GraceQueue(opts.graceMs ?? GRACE_MS, (_, p) => this.#feed(p));
    this.#masks = opts.masks ?? ANCESTOR_MASKS;
    if (opts.narrow === false) this.#narrows = false;
  }

  readonly #masks: readonly number[];

  /** The mask the ancestors are marked for now (FAN_RENAME where the kernel has it). */
  get mask(): number {
    return this.#masks[this.#maskAt];
  }

  /**
   * Follows the directories above `watch`'s paths (DirKeys.onAncestor and
   * onPlaced), from its first path on: call it before any is added.
   */
  follow(watch: WatchSet): void {
    this.#watch = watch;
    this.#keys = watch.keys;
    watch.keys.onAncestor = (dir, id, above) => this.onAncestor(dir, id, above);
    watch.keys.onPlaced = (dir) => this.onPlaced(dir);
  }

  /** Starts reading: events about `watch`'s ancestors go to `sink`. */
  start(watch: WatchSet, sink: AncestorSink): void {
    if (this.#watch !== watch) this.follow(watch);
    this.#sink = sink;
    this.group.start((bytes) => this.#onBytes(bytes));
    this.group.done.catch((e) => {
      this.opts.warn(
        `fanotify stopped reading the directories above watched paths (${errorMessage(e)}): ` +
          `one renamed through io_uring waits for the reconcile`,
      );
    });
  }

  /**
   * DirKeys.onAncestor: directory `dir` at inode `id` is (`above`) or is no
   * longer above watched paths. Its inode is marked at its first such path
   * and unmarked at its last.
   */
  onAncestor(dir: string, id: InodeId, above: boolean): void {
    if (this.#stopped) return;
    const k = inodeKeyString(id);
    const r = this.#marks.get(k);
    if (above) {
      if (r) {
        r.dirs.add(dir);
        return;
      }
      const marked = this.#mark(dir, id);
      if (!marked) return;
      const rec = { ...marked, ignored: 0, dirs: new Set([dir]) };
      this.#marks.set(k, rec);
      this.#byHandle.add(marked.m.handleKey, k);
      this.#narrow(rec, this.#allDirs(dir));
      return;
    }
    if (!r?.dirs.delete(dir) || r.dirs.size) return;
    this.#marks.delete(k);
    this.#byHandle.delete(r.m.handleKey, k);
    try {
      // A mark whose ignore mask is left stays on its inode.
      if (r.ignored) this.group.ignoreNonDirs(r.m, r.ignored, false);
      this.group.unmark(r.m, r.mask);
    } catch {
      // gone with its inode
    }
  }

  /**
   * DirKeys.onPlaced: directory `dir` was looked up again. Its parent's mark
   * spares files only while each name it watches there is a directory: a name
   * left empty (its directory renamed or removed) may next be given a symlink
   * or a file, whose event must be read.
   */
  onPlaced(dir: string): void {
    const keys = this.#keys;
    if (this.#stopped || !keys) return;
    const up = parentPath(dir);
    if (up === dir) return;
    const id = keys.idOf(up);
    const r = id && this.#marks.get(inodeKeyString(id));
    if (r) this.#narrow(r, this.#allDirs(up));
  }

  /** Whether every name `dir` watches of a directory above watched paths names a directory now. */
  #allDirs(dir: string): boolean {
    const keys = this.#keys;
    if (!keys) return false;
    for (const name of keys.linksOf(dir)) {
      if (!keys.idOf(childPath(dir, name))) return false;
    }
    return true;
  }

  /**
   * Spares (`on`) the files of marked directory `r` where the kernel can
   * (FAN_MARK_IGNORE, 6.0+), or reads every entry's events again. Reading
   * them again, a name watched there that was empty and is not now (given a
   * file or symlink before the ignore mask went) is looked up at once.
   */
  #narrow(r: MarkRec, on: boolean): void {
    const bits = r.mask & ~FanMask.ONDIR;
    if (on && !r.ignored && this.#narrows !== false) {
      const ok = this.group.ignoreNonDirs(r.m, bits, true);
      this.#narrows ??= ok;
      if (ok) r.ignored = bits;
    } else if (!on && r.ignored) {
      this.group.ignoreNonDirs(r.m, r.ignored, false);
      r.ignored = 0;
      for (const dir of r.dirs) {
        for (const name of this.#keys?.linksOf(dir) ?? []) {
          const path = childPath(dir, name);
          if (this.#keys?.idOf(path) || !lstat(path)) continue;
          queueMicrotask(() => this.#sink?.ancestorChangedUnseen(path, UNKNOWN));
        }
      }
    }
  }

  /**
   * Marks directory `dir` (inode `id`); undefined when it is not that inode
   * now, or refused.
   */
  #mark(dir: string, id: InodeId): { m: Marked; mask: number } | undefined {
    for (;;) {
      const mask = this.mask;
      try {
        const m = this.group.mark(dir, id, mask, "dir");
        return m && { m, mask };
      } catch (e) {
        // EINVAL: no FAN_RENAME here (before 5.17): the two halves of a move instead.
        const older = e instanceof FanotifyError && e.errno === Errno.EINVAL;
        if (older && this.#maskAt + 1 < this.#masks.length) {
          this.#maskAt++;
          continue;
        }
        this.counts.markFailures++;
        if (!this.#warnedMark) {
          this.#warnedMark = true;
          this.opts.warn(
            `fanotify cannot mark ${JSON.stringify(dir)}, above watched paths (${
              errorMessage(e)
            }): such a directory renamed through io_uring waits for the reconcile`,
          );
        }
        return undefined;
      }
    }
  }

  /**
   * Whether the kernel reads only subdirectories' entry events of the marked
   * directories (6.0+); false: every entry's, dropped here by name.
   */
  get narrowed(): boolean {
    return this.#narrows === true;
  }

  /** Directories marked now. */
  get marks(): number {
    return this.#marks.size;
  }

  #lookup(fid: FanFid): InodeId | undefined {
    const ks = this.#byHandle.get(fid.handleKey);
    if (ks.length === 1) return inodeOfKeyString(ks[0]);
    for (const k of ks) {
      const r = this.#marks.get(k);
      if (r && markKey(r.m) === fid.key) return inodeOfKeyString(k);
    }
    return undefined;
  }

  #onBytes(bytes: Uint8Array): void {
    if (this.#stopped) return;
    const readAt = performance.now();
    const batch = parseFanotify(bytes);
    const cache: ProcFactsCache = new Map();
    for (const e of batch.events) this.#onEvent(e, readAt, cache);
    if (batch.malformed) this.#lost("fanotify returned a record that could not be parsed");
  }

  /** Events were lost: every path below an ancestor is looked up again. */
  #lost(why: string): void {
    this.opts.warn(`${why}: every watched path is looked up again`);
    this.#sink?.rescan("rescan");
  }

  #onEvent(e: FanEvent, readAt: number, cache: ProcFactsCache): void {
    if (e.fd >= 0) FanotifyGroup.closeFd(e.fd);
    this.counts.events++;
    if (e.mask & FanMask.Q_OVERFLOW) {
      this.counts.overflows++;
      this.#lost("the fanotify queue of the directories above watched paths overflowed");
      return;
    }
    const keys = this.#keys;
    const watch = this.#watch;
    if (!keys || !watch) return;
    const op = e.mask & MOVES
      ? FimOp.Rename
      : e.mask & FanMask.DELETE
      ? FimOp.Unlink
      : FimOp.Create;
    let ours = false;
    for (const f of e.fids) {
      if (
        !f.name ||
        (f.infoType !== InfoType.DFID_NAME && f.infoType !== InfoType.OLD_DFID_NAME &&
          f.infoType !== InfoType.NEW_DFID_NAME)
      ) continue;
      const id = this.#lookup(f);
      if (!id) continue;
      const name = decodePathBytes(f.name);
      for (const dir of keys.dirPathsOf(id)) {
        if (!keys.linksOf(dir).has(name)) continue;
        ours = true;
        // A watched directory's own marks (the safety net's) report its entries.
        if (watch.get(dir)?.kind === "dir") continue;
        this.#hold(childPath(dir, name), id, name, op, e.pid, readAt, cache);
      }
    }
    if (!ours) this.counts.otherNames++;
  }

  #hold(
    path: string,
    dirId: InodeId,
    name: string,
    op: FimOp,
    pid: number,
    readAt: number,
    cache: ProcFactsCache,
  ): void {
    const key = `${pid}:${path}`;
    const p = this.#pending.get(key);
    if (p) {
      p.readAt = readAt;
      return;
    }
    // pid 0: an unprivileged listener is not told other processes' pids.
    const event = pid > 0
      ? eventFromProc(pid, dirId, op, { name, via: "fanotify", exited: this.exited, cache })
      : undefined;
    this.#pending.hold(key, { readAt, path, event });
  }

  /** Feeds `p` unless the paths below its ancestor were looked up again since it was read. */
  #feed(p: Pending): void {
    const sink = this.#sink;
    if (!sink) return;
    if (sink.ancestorCheckedSince(p.path, p.readAt)) {
      this.counts.covered++;
      return;
    }
    this.counts.fed++;
    if (p.event) sink.onKernelEvent(p.event);
    else sink.ancestorChangedUnseen(p.path, UNKNOWN);
  }

  /** Whether an event read so far still waits out its grace. */
  get waiting(): boolean {
    return this.#pending.waiting;
  }

  /** Resolves once no event read so far waits out its grace. */
  settled(): Promise<void> {
    return this.#pending.settled();
  }

  /** Registers the metrics of the ancestors' marks. */
  register(metrics: MetricsRegistry): void {
    const c = this.counts;
    metrics.pulled(
      "bpfink_fanotify_ancestor_marks",
      "Directories above watched paths marked with fanotify (renames, removals, creations).",
      "gauge",
      () => this.marks,
    );
    metrics.pulled(
      "bpfink_fanotify_ancestor_events_total",
      "Events read from fanotify about entries of the directories above watched paths.",
      "counter",
      () => c.events,
    );
    metrics.pulled(
      "bpfink_fanotify_ancestor_other_names_total",
      "Of those, events about other names than the watched ones (dropped).",
      "counter",
      () => c.otherNames,
    );
    metrics.pulled(
      "bpfink_fanotify_ancestor_only_total",
      "Events about a directory above watched paths that no BPF event covered: its paths were looked up again.",
      "counter",
      () => c.fed,
    );
    metrics.pulled(
      "bpfink_fanotify_ancestor_mark_failures_total",
      "Directories above watched paths fanotify could not mark (left to the BPF hooks and the reconcile).",
      "counter",
      () => c.markFailures,
    );
  }

  /** Stops feeding, and closes the group (every mark goes with it). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pending.stop();
    await this.group.close();
    this.#marks.clear();
    this.#byHandle.clear();
  }
}

/**
 * Opens the group for the directories above watched paths, or says in one
 * warning line why there is none (no fanotify, no entry names before 5.9):
 * such a directory renamed through io_uring then waits for the reconcile.
 */
export function openAncestorMarks(warn: (message: string) => void): AncestorMarks | undefined {
  let group: FanotifyGroup;
  try {
    group = FanotifyGroup.open({ native: null });
  } catch (e) {
    warn(
      `fanotify cannot watch the directories above watched paths (${errorMessage(e)}): ` +
        `one renamed through io_uring waits for the reconcile`,
    );
    return undefined;
  }
  if (!group.names) {
    void group.close();
    warn(
      "this kernel's fanotify reports no entry names (before 5.9): a directory above watched " +
        "paths renamed through io_uring waits for the reconcile",
    );
    return undefined;
  }
  return new AncestorMarks(group, { warn });
}

/**
 * The kernel's own file events as a safety net beside the BPF object, under
 * every strategy: fanotify inode marks on every watched regular file
 * (content, attributes, link count, its own moves) and every watched
 * directory (entries made, removed, renamed). fsnotify fires on the inode
 * the kernel resolved, whatever the path, alias or ABI (a symlink, another
 * hard link, /proc/self/fd/N, io_uring path operations and CQE-skipped
 * writes, a path swapped after the kernel copied it), so the syscall hooks
 * cannot be blinded past it.
 *
 * At start, each path is marked before its first read: a regular file by
 * the hashing worker that reads it, through the fd it reads it by
 * (workerGroup(), keepWorkerMarks()), anything else here (markEarly(), from
 * EarlyWatch). Until keepWorkerMarks() has kept what a worker's mark means,
 * an event about that file names no inode known here: such events are held
 * while the start lasts, not dropped. The watch set's record of what was
 * read then places nothing again, unless the fanotify events queued by then
 * say the marked file was freed (its number may name the file that was
 * read) or could not all be read. Later, every inode the watch set records
 * is marked again.
 *
 * An event names its inode by file handle: it is mapped to the watch entry
 * through a table filled when the inode was marked (name_to_handle_at on the
 * fd that was marked), never by name. The BPF event for the same change has
 * the full attribution and wins: a fanotify event waits GRACE_MS, and is fed
 * to the monitor only when no re-read (or listing) of its paths has started
 * since it was read; an entry's event naming its process, only when the BPF
 * object sent no event of the same operation by that process on that entry
 * (FanotifySink.covers: a listing does not show a name made and gone before
 * it, and a listing that came before this event was read may have reported
 * its change already). A normal write is thus reported once, by BPF; a change
 * only fanotify saw is reported with the process /proc showed for the
 * event's pid when it was read, and `event.reason` says so. The group is read
 * off the main thread by a pump (src/fanotify/fd_pump.ts), so its kernel queue
 * does not overflow while the agent is busy; an overflow still possible (the
 * pump's queue full) rescans every watch, as a ring-buffer drop does. After a write event the
 * inode's writes are muted in the kernel (`FAN_MODIFY` leaves its mark) until the
 * monitor re-arms it before the next re-read, as the BPF object's pending
 * flag does: a flood of writes costs one event.
 *
 * A regular file whose file system refuses a mark by file handle (ENODEV:
 * no fsid, as tmpfs on 5.10; EOPNOTSUPP: no export operations, as
 * ramfs; EXDEV: a weak fsid beside other file systems) is marked in a
 * second, classic group instead, opened at the first such file: its events
 * carry an fd, told by fstat() and closed at once, and report content only
 * (FAN_MODIFY, FAN_CLOSE_WRITE; no attributes, links, moves or entries).
 * They are fed the same way. Their writes are muted the same way too, the
 * file reached again through the event's own fd, kept open until the re-arm
 * (at most MAX_FD_MUTED files at once; past that, each write is an event):
 * without it, every write to such a file cost the writer a fanotify event
 * and the agent a read of it.
 *
 * @module
 */
import { GraceQueue } from "./grace_queue.ts";
import { DIR_MASK, FanMask, FD_FILE_MASK, FILE_MASK } from "../fanotify/fanotify_abi.ts";
import {
  FanotifyGroup,
  type Marked,
  markKey,
  type MarkRequest,
  type MarkResult,
} from "../fanotify/fanotify_group.ts";
import { FanotifyFdGroup } from "../fanotify/fanotify_fd_group.ts";
import { FanotifyError } from "../fanotify/fanotify_reader.ts";
import { type FanEvent, type FanFid, parseFanotify } from "../fanotify/fanotify_records.ts";
import type { NativeMarkResults } from "../fanotify/native_marks.ts";
import type { PumpQueueStats } from "../fanotify/fd_pump.ts";
import { InfoType } from "../fanotify/fanotify_abi.ts";
import { FimOp, FimWatch } from "../kernel/fim_event.ts";
import type { AttributedEvent } from "./attribution.ts";
import { type InodeId, inodeKeyString, inodeOfKeyString } from "./inode_key.ts";
import { decodePathBytes } from "./path_bytes.ts";
import type { EntryType } from "./native_fs.ts";
import { SetMap } from "./set_map.ts";
import { eventFromProc, type ExitedLookup, type ProcFactsCache } from "./proc_event.ts";
import type { KernelWatchTable, WatchSet } from "./watch_set.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { errorMessage } from "../error_message.ts";
import { Errno, errnoName } from "../errno.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { childPath, parentPath } from "./path_names.ts";

/** Why a change only an unprivileged fanotify group saw names no process. */
const HIDDEN = "seen by fanotify only, and the kernel hides the process from a listener " +
  "without CAP_SYS_ADMIN";

/** Most events held for marks the workers placed and the start has not kept yet. */
const MAX_HELD_UNMATCHED = 4096;

/** How long a fanotify event waits for the BPF event of the same change (and its re-read). */
export const GRACE_MS = 100;

/** What the source needs from a fanotify group (fanotify_group.ts). */
export interface FanotifyMarks {
  readonly names: boolean;
  readonly privileged: boolean;
  /** `was`: what the path was when last read (a regular file or directory is opened to be marked). */
  mark(path: string, id: InodeId, mask: number, was?: EntryType): Marked | undefined;
  /** Marks whatever is at each path now; each one's fstat() and mark, nothing, or the refusal. */
  markMany(items: readonly MarkRequest[]): MarkResult[];
  /**
   * The group's fd, when marks placed elsewhere (the hashing workers, through
   * the fd they read a file by) can be adopted; undefined when not.
   */
  readonly fd?: number;
  /** What marks placed elsewhere for this group at `paths` mean, as markMany() says. */
  adopt?(paths: readonly string[], r: NativeMarkResults): MarkResult[];
  unmark(m: Marked): void;
  /** Handles the events the kernel queued so far, at once; whether it read them all. */
  drain(): boolean;
  mute(m: Marked, mask: number): boolean;
  unmute(m: Marked, mask: number): void;
  start(onBytes: (bytes: Uint8Array) => void): void;
  /** Its pump's queue (fd_pump.ts), where one reads it off the main thread. */
  readonly pumpQueue?: PumpQueueStats;
  close(): Promise<void>;
  readonly done: Promise<void>;
}

/** What the source needs from the classic group (fanotify_fd_group.ts). */
export interface FanotifyFdMarks {
  mark(path: string, id: InodeId, mask?: number): string | undefined;
  unmark(path: string, id: InodeId): void;
  mute(fd: number, mask: number): boolean;
  unmute(fd: number, mask: number): void;
  start(onBytes: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * At most this many files of the classic group are muted at once: each keeps
 * its event's fd open until its re-arm.
 */
export const MAX_FD_MUTED = 64;

/** The errnos of a mark by file handle that a classic group's mark may get past. */
const NO_FID = new Set<number>([Errno.ENODEV, Errno.EOPNOTSUPP, Errno.EXDEV]);

/** What the source feeds (the file monitor). */
export interface FanotifySink {
  onKernelEvent(e: AttributedEvent): void;
  markDirty(dir: string, cause: undefined, reason: "live", unattributed: string): void;
  rescan(reason: "rescan"): void;
  schedule(path: string, cause: undefined, reason: "live", unattributed: string): void;
  offer(path: string, e: AttributedEvent): void;
  /**
   * Whether entry event `e` is the twin of one the BPF object sent about the
   * same entry (the same operation by the same process), which was routed
   * already: then it is not fed. Each twin covers one event.
   */
  covers?(e: AttributedEvent): boolean;
  /** A process that wrote `path` closed it: what it wrote is complete (FAN_CLOSE_WRITE). */
  writerClosed(path: string): void;
  /** Runs what is due now: called after each read's events, between a flood's chunks. */
  runDue?(): void;
}

/** Options for the source. */
export interface FanotifySourceOptions {
  warn: (message: string) => void;
  graceMs?: number;
  /**
   * Opens the classic group for files the kernel will not mark by handle;
   * `onLost` hears of an event dropped because its file could not be
   * opened. None: such files rely on the BPF hooks and the reconcile.
   */
  openFdGroup?: (onLost: (errno: number) => void) => FanotifyFdMarks;
}

interface Pending {
  /** performance.now() of the latest read of an event for this key. */
  readAt: number;
  /** The event made from it; undefined when the kernel hid the pid (an unprivileged listener). */
  event?: AttributedEvent;
  /** The watched inode (file events) or directory inode (entry events). */
  id: InodeId;
  /** The entry's name (entry events). */
  name?: string;
  /**
   * An entry's operations, in order (entryOps): each is fed as an event of
   * its own, the first as `event`. A file's events are one, `event`.
   */
  ops?: FimOp[];
}

const CONTENT = FanMask.MODIFY | FanMask.ATTRIB | FanMask.DELETE_SELF | FanMask.MOVE_SELF;
const ENTRY = FanMask.CREATE | FanMask.DELETE | FanMask.MOVED_FROM | FanMask.MOVED_TO;

/** An entry event's bits as the kernel can merge them into one record: those that make a name first. */
const ENTRY_BITS = [FanMask.CREATE, FanMask.MOVED_TO, FanMask.DELETE, FanMask.MOVED_FROM];

/** Most operations one process's events about one entry keep while they wait out the grace. */
export const MAX_ENTRY_OPS = 8;

/**
 * The operations of entry event mask `mask` (one bit each: a record the
 * kernel merged from a create and a rename away is both), those that put an
 * inode at the name before those that take one away.
 */
function entryOps(mask: number): FimOp[] {
  return ENTRY_BITS.filter((b) => mask & b).map((b) => opOf(b));
}

/**
 * Adds `more` to the operations `ops` keeps of one entry, in order: a repeat
 * of the latest is one; past MAX_ENTRY_OPS the oldest but the first go (the
 * first made the name, the latest says how it ended).
 */
function addEntryOps(ops: FimOp[], more: readonly FimOp[]): void {
  for (const op of more) {
    if (ops[ops.length - 1] === op && op !== FimOp.Rename) continue;
    ops.push(op);
    if (ops.length > MAX_ENTRY_OPS) ops.splice(1, 1);
  }
}

/** Which kernel operation a fanotify mask stands for, for the monitor's routing. */
function opOf(mask: number): FimOp {
  if (mask & (FanMask.MOVED_FROM | FanMask.MOVED_TO)) return FimOp.Rename;
  if (mask & FanMask.DELETE) return FimOp.Unlink;
  if (mask & FanMask.CREATE) return FimOp.Create;
  if (mask & FanMask.MODIFY) return FimOp.Write;
  return FimOp.Attrib;
}

/** A marked inode as kept: its mark and the bits it was marked for. */
interface MarkRecord extends Marked {
  mask: number;
}

/** fanotify marks that follow the watch set, and the events they bring. */
export class FanotifySource {
  /**
   * Marked inodes by inode key. Most are a regular file on the first file
   * system marked, and are kept as their handle key alone; the others as the
   * mark and its mask (#rec reads either). At 100,000 watched files, an
   * object per inode with the inode beside it held 13 MiB more of the heap.
   */
  readonly #marked = new Map<string, string | MarkRecord>();
  /** The file system of the first mark: a record on it with FILE_MASK is its handle key alone. */
  #mainFs?: string;
  /**
   * Inode keys by the handle their events carry, without the file system id
   * (it may differ by mount); the whole key tells apart inodes of two file
   * systems with the same handle (#lookup).
   */
  readonly #byHandle = new SetMap<string, string>();
  /** /proc facts by pid while one read's events are handled (see ProcFactsCache). */
  #procFacts?: ProcFactsCache;
  readonly #pending: GraceQueue<Pending>;
  /**
   * Watched inodes the kernel reported freed (FAN_DELETE_SELF), until the watch set lets
   * them go: their number may already name another file, which watchInode() then marks afresh.
   */
  readonly #dead = new Set<string>();
  /**
   * Inodes whose FAN_MODIFY or FAN_CLOSE_WRITE is muted in the kernel until
   * their next re-read (rearm()): the bits muted, by inode key.
   */
  readonly #muted = new Map<string, number>();
  /**
   * Inodes marked by markEarly() before their first read, by inode key: the
   * mask they were marked for, until the watch set records them
   * (watchInode() then has nothing to place) or they are let go.
   */
  readonly #early = new Map<string, number>();
  /**
   * Directories whose own early mark, or one of whose files', the kernel
   * refused for want of file handles: their files are not tried early
   * (watchInode() marks them in the classic group).
   */
  readonly #noFidDirs = new Set<string>();
  /** Whether events naming no known inode are held (workerGroup() until endEarly()). */
  #holding = false;
  /** Those events, oldest first, with when each was read. */
  #heldUnmatched: { e: FanEvent; readAt: number }[] = [];
  #warnedHeld = false;
  #watch?: WatchSet;
  #sink?: FanotifySink;
  #stopped = false;
  /** catchUp() is draining the group (the startup's own code runs; nothing due is run from it). */
  #catchingUp = false;
  /** The group's events are read (from start() until its reading fails or it stops). */
  #reading = false;
  /** The classic group's likewise. */
  #fdReading = false;
  #warnedMark = false;
  #warnedFd = false;
  /** The classic group, once a file needed it; null when it could not be opened. */
  #fdGroup?: FanotifyFdMarks | null;
  /** Inodes marked in the classic group, by inode key: the path marked and the fd key. */
  readonly #fdMarked = new Map<string, { path: string; key: string; id: InodeId }>();
  /** Inodes by the fd key (FanotifyFdGroup.keyOf) their events give. */
  readonly #byFdKey = new Map<string, InodeId>();
  /**
   * Files of the classic group whose writes are muted until their re-arm,
   * by inode key: the event's fd they are reached by (kept open) and the bits.
   */
  readonly #fdMuted = new Map<string, { fd: number; bits: number }>();
  /** Counters for metrics. */
  readonly counts = {
    events: 0,
    fed: 0,
    covered: 0,
    unmatched: 0,
    overflows: 0,
    malformed: 0,
    markFailures: 0,
    fdEvents: 0,
    fdLost: 0,
    closes: 0,
  };

  /**
   * Called before the marks may go (the group closes, or stops reading and
   * so cannot be trusted to keep them): whoever relies on every watched
   * inode carrying a mark (FimKernel's mark gate) stops relying on it.
   */
  onMarksGoing?: () => void;
  /** Names an event's process that has left /proc by the time its event is read (mv, rm). */
  exited?: ExitedLookup;

  constructor(readonly group: FanotifyMarks, readonly opts: FanotifySourceOptions) {
    this.#pending = new GraceQueue(opts.graceMs ?? GRACE_MS, (_, p) => this.#feed(p));
  }

  /** Starts reading; events about `watch`'s entries go to `sink`. */
  start(watch: WatchSet, sink: FanotifySink): void {
    this.#watch = watch;
    this.#sink = sink;
    this.group.start((bytes) => this.#onBytes(bytes));
    this.#reading = true;
    if (this.#fdGroup) this.#startFd(this.#fdGroup);
    this.group.done.catch((e) => {
      this.#reading = false;
      this.onMarksGoing?.();
      this.opts.warn(
        `fanotify stopped reading (${errorMessage(e)}): the BPF hooks and the reconcile remain`,
      );
    });
  }

  /**
   * The watch set points the kernel at inode `id` (`flags`: FimWatch): mark
   * it, through one of its paths. It is marked again even when it was
   * marked before (the same mask, less what is muted): its number may name
   * a new inode by now, whose removed namesake took the mark along. Returns
   * whether a mark is on the inode now, placed by this call (the kernel's
   * mark gate trusts nothing older).
   */
  watchInode(
    id: InodeId,
    flags: number,
    pathsOf: (id: InodeId) => string[],
    typeAt: (path: string) => EntryType | undefined = () => undefined,
  ): boolean {
    if (this.#stopped) return false;
    const k = inodeKeyString(id);
    const want = (flags & FimWatch.Dir ? DIR_MASK : 0) | (flags & FimWatch.File ? FILE_MASK : 0);
    // A number the kernel freed and now gives to another inode: mark that one afresh.
    if (this.#dead.delete(k)) this.#forget(k);
    const early = this.#early.get(k);
    if (early !== undefined) {
      this.#early.delete(k);
      // Marked for just this by markEarly(), since the read that the watch set records: what a
      // mark now would place is on the inode already (less what is muted, as a mark now would).
      if (early === want && this.#marked.has(k)) return true;
    }
    const have = this.#rec(k);
    const fdm = this.#fdMarked.get(k);
    if (fdm) {
      try {
        const muted = this.#fdMuted.get(k)?.bits ?? 0;
        return this.#fdGroup?.mark(fdm.path, id, FD_FILE_MASK & ~muted) !== undefined;
      } catch {
        return false;
      }
    }
    const mask = ((have?.mask ?? 0) | want) & ~(this.#muted.get(k) ?? 0);
    for (const path of pathsOf(id)) {
      let m: Marked | undefined;
      try {
        m = this.group.mark(path, id, mask, typeAt(path));
      } catch (e) {
        const noFid = e instanceof FanotifyError && NO_FID.has(e.errno);
        if (noFid && flags & FimWatch.File && this.#markFd(k, id, path)) return true;
        this.counts.markFailures++;
        if (!this.#warnedMark) {
          this.#warnedMark = true;
          this.opts.warn(
            `fanotify cannot mark ${JSON.stringify(path)} (${errorMessage(e)}): ` +
              `such paths rely on the BPF hooks and the reconcile`,
          );
        }
        return false;
      }
      if (!m) continue;
      this.#keepMark(k, have, m, want);
      return true;
    }
    return false;
  }

  /**
   * Marks each path before its first read, as a "file" or "dir" watch
   * (`type`: what the listing said it is), and returns the inode it marked
   * and its key (inodeKeyString), for the kernel map to take next: the mark then covers the first read
   * and vouches for the inode from its first moment in the map (the mark
   * gate). Undefined for a path it could not mark (nothing there, a file
   * system without file handles, a refusal): the caller watches the inode
   * as before, and watchInode() tries (and says why it fails) when the
   * watch set records the path.
   */
  markEarly(
    items: readonly { path: string; kind: "file" | "dir"; type?: EntryType }[],
  ): ({ id: InodeId; key: string } | undefined)[] {
    const ids: ({ id: InodeId; key: string } | undefined)[] = new Array(items.length);
    if (this.#stopped) return ids;
    const asked: number[] = [];
    const requests: MarkRequest[] = [];
    for (let i = 0; i < items.length; i++) {
      const { path, kind, type } = items[i];
      if (this.#noFidDirs.has(parentPath(path))) continue;
      asked.push(i);
      requests.push({ path, mask: kind === "dir" ? DIR_MASK : FILE_MASK, was: type });
    }
    this.#keepEarly(items, asked, requests.map((r) => r.mask), this.group.markMany(requests), ids);
    return ids;
  }

  /**
   * The fanotify group the hashing workers may mark a start's regular files
   * for, each before they read it, through the fd they read it by
   * (native/file_reader.c), instead of markEarly() here; undefined when they
   * may not (a group whose marks cannot be adopted, a stopped source).
   * Asked before each window, so that events about the window's files that
   * arrive before keepWorkerMarks() are held, not dropped as unmatched.
   */
  workerGroup(): number | undefined {
    if (this.#stopped || this.group.fd === undefined || !this.group.adopt) return undefined;
    this.#holding = true;
    return this.group.fd;
  }

  /**
   * Whether the workers are asked to mark regular file `path` early: not in
   * a directory whose file system would not mark by handle (markEarly's rule).
   */
  workerMayMark(path: string): boolean {
    return !this.#noFidDirs.has(parentPath(path));
  }

  /**
   * Keeps what the workers' marks of `items` (each asked for FILE_MASK, as
   * markEarly() marks a file) mean, as markEarly() keeps its own, then
   * handles the events held until now. `marks`: what became of each (one
   * not tried is marked when the watch set records it, as after a refusal).
   * Returns the inode marked at each path and its key, as markEarly() does.
   */
  keepWorkerMarks(
    items: readonly { path: string; kind: "file" | "dir" }[],
    marks: NativeMarkResults,
  ): ({ id: InodeId; key: string } | undefined)[] {
    const ids: ({ id: InodeId; key: string } | undefined)[] = new Array(items.length);
    if (this.#stopped || !this.group.adopt) return ids;
    const results = this.group.adopt(items.map((t) => t.path), marks);
    this.#keepEarly(items, items.map((_, i) => i), items.map(() => FILE_MASK), results, ids);
    this.#replayHeld();
    return ids;
  }

  /** The marks of `items` at `asked` (their masks `wants`), kept as early ones, into `ids`. */
  #keepEarly(
    items: readonly { path: string; kind: "file" | "dir" }[],
    asked: readonly number[],
    wants: readonly number[],
    results: readonly MarkResult[],
    ids?: ({ id: InodeId; key: string } | undefined)[],
  ): void {
    for (let j = 0; j < asked.length; j++) {
      const r = results[j];
      const { path, kind } = items[asked[j]];
      if (r instanceof FanotifyError) {
        if (NO_FID.has(r.errno)) this.#noFidDirs.add(kind === "dir" ? path : parentPath(path));
        continue;
      }
      if (!r) continue;
      const want = wants[j];
      const id = { dev: kernelIdentity.deviceOfStat(path, r.st.dev, r.st.mntId), ino: r.st.ino };
      const k = inodeKeyString(id);
      if (this.#dead.delete(k)) this.#forget(k);
      this.#keepMark(k, this.#rec(k), r.marked, want);
      this.#early.set(k, want);
      if (ids) ids[asked[j]] = { id, key: k };
    }
  }

  /**
   * Handles the events the kernel has queued by now, before the startup
   * read records what it read: a file freed since its early mark (the
   * mark went with it, and its inode number may name the file read) is
   * then known, and watchInode() marks what was read afresh.
   */
  catchUp(): void {
    if (this.#stopped) return;
    // Events left in the queue (a flood) may hold an early mark's FAN_DELETE_SELF: then none is
    // trusted, and watchInode() marks each inode afresh when it is recorded.
    this.#catchingUp = true;
    try {
      if (!this.group.drain()) this.#early.clear();
    } finally {
      this.#catchingUp = false;
    }
  }

  /**
   * The start is over: no more early marks are asked for, and the events
   * held for the workers' marks are routed, or counted as unmatched.
   */
  endEarly(): void {
    this.#noFidDirs.clear();
    this.#holding = false;
    this.#replayHeld();
  }

  /**
   * Marks regular file `path` (inode `id`) in the classic group, opened
   * now if it is not yet; false when that group cannot be had or refuses.
   */
  #markFd(k: string, id: InodeId, path: string): boolean {
    if (this.#fdGroup === undefined) this.#fdGroup = this.#openFdGroup();
    if (!this.#fdGroup) return false;
    let key: string | undefined;
    try {
      key = this.#fdGroup.mark(path, id);
    } catch {
      return false;
    }
    if (key === undefined) return false;
    if (!this.#warnedFd) {
      this.#warnedFd = true;
      this.opts.warn(
        `fanotify cannot mark ${JSON.stringify(path)} by file handle: such files are marked ` +
          `for writes only (fds); their attribute changes rely on the BPF hooks and the reconcile`,
      );
    }
    this.#fdMarked.set(k, { path, key, id });
    this.#byFdKey.set(key, id);
    return true;
  }

  #openFdGroup(): FanotifyFdMarks | null {
    const open = this.opts.openFdGroup;
    if (!open || this.#stopped) return null;
    let g: FanotifyFdMarks;
    try {
      g = open((err) => {
        // The kernel could not open the event's file: the event is gone, so is what it said.
        // Warned once, counted always: a full fd table would say so at every event.
        if (this.counts.fdLost++ === 0) {
          const why = errnoName(err);
          this.opts.warn(`fanotify lost an event (could not open its file: ${why}): rescanning`);
        }
        this.#sink?.rescan("rescan");
      });
    } catch (e) {
      this.opts.warn(
        `fanotify cannot open a group without file handles (${errorMessage(e)}): ` +
          `files it cannot mark by handle rely on the BPF hooks and the reconcile`,
      );
      return null;
    }
    if (this.#sink) this.#startFd(g);
    return g;
  }

  #startFd(g: FanotifyFdMarks): void {
    g.start((bytes) => this.#onFdBytes(bytes));
    this.#fdReading = true;
    g.done.catch((e) => {
      this.#fdReading = false;
      this.opts.warn(
        `fanotify stopped reading fds (${errorMessage(e)}): the BPF hooks and the reconcile remain`,
      );
    });
  }

  /**
   * Whether a writer's close of inode `id` reaches the sink's writerClosed:
   * the inode carries a mark for FAN_CLOSE_WRITE, in a group still read.
   */
  reportsCloses(id: InodeId): boolean {
    if (this.#stopped) return false;
    const k = inodeKeyString(id);
    if (this.#fdMarked.has(k)) return this.#fdReading;
    const r = this.#rec(k);
    return this.#reading && r !== undefined && (r.mask & FanMask.CLOSE_WRITE) !== 0;
  }

  /**
   * Mutes further `bits` events (writes, closes after writing) of `id` in
   * the kernel until its next re-read: the re-read that follows this event
   * (the BPF object's, or the one this event makes) re-arms it first, so
   * what was muted is in that read.
   */
  #mute(id: InodeId, bits: number): void {
    const k = inodeKeyString(id);
    const muted = this.#muted.get(k) ?? 0;
    const add = bits & ~muted;
    if (!add) return;
    const r = this.#rec(k);
    if (r && this.group.mute(r, add)) this.#muted.set(k, muted | add);
  }

  /** The monitor is about to re-read inode `id`: report its next write and close again. */
  rearm(id: InodeId): void {
    const k = inodeKeyString(id);
    this.#fdUnmute(k, true);
    const bits = this.#muted.get(k);
    if (bits === undefined) return;
    this.#muted.delete(k);
    const r = this.#rec(k);
    if (r && !this.#stopped) this.group.unmute(r, bits);
  }

  /** The watch set no longer watches inode `id`: remove its mark. */
  unwatchInode(id: InodeId): void {
    const k = inodeKeyString(id);
    const fdm = this.#fdMarked.get(k);
    this.#fdUnmute(k, false);
    if (fdm) {
      this.#fdMarked.delete(k);
      this.#byFdKey.delete(fdm.key);
      // By its path: if that names another inode by now, the mark goes with its own inode.
      if (!this.#stopped) this.#fdGroup?.unmark(fdm.path, id);
    }
    const r = this.#rec(k);
    if (!r) return;
    this.#forget(k);
    this.#muted.delete(k);
    this.#dead.delete(k);
    if (!this.#stopped) {
      try {
        this.group.unmark(r);
      } catch {
        // gone with its inode
      }
    }
  }

  /**
   * Lets go of the fd that file `k` of the classic group was muted through,
   * unmuting it first when `unmute` (the re-arm; not when it is unwatched).
   */
  #fdUnmute(k: string, unmute: boolean): void {
    const m = this.#fdMuted.get(k);
    if (!m) return;
    this.#fdMuted.delete(k);
    try {
      if (unmute && !this.#stopped) this.#fdGroup?.unmute(m.fd, m.bits);
    } finally {
      FanotifyFdGroup.closeFd(m.fd);
    }
  }

  /** The record of marked inode `k`, whichever way it is kept. */
  #rec(k: string): (MarkRecord & { id: InodeId }) | undefined {
    const r = this.#marked.get(k);
    if (r === undefined) return undefined;
    const id = inodeOfKeyString(k);
    if (typeof r !== "string") return { ...r, id };
    return { fs: this.#mainFs!, handleKey: r, mask: FILE_MASK, id };
  }

  /**
   * Records mark `m` just placed on inode `k` for `want`, over `have` (its
   * record before): an older record of another handle was another inode.
   */
  #keepMark(k: string, have: MarkRecord | undefined, m: Marked, want: number): void {
    if (have && (have.fs !== m.fs || have.handleKey !== m.handleKey)) this.#forget(k);
    this.#keepRec(k, m, (have?.mask ?? 0) | want);
    this.#byHandle.add(m.handleKey, k);
  }

  #keepRec(k: string, m: Marked, mask: number): void {
    this.#mainFs ??= m.fs;
    this.#marked.set(
      k,
      m.fs === this.#mainFs && mask === FILE_MASK
        ? m.handleKey
        : { fs: m.fs, handleKey: m.handleKey, mask },
    );
  }

  #forget(k: string): void {
    this.#early.delete(k);
    const r = this.#rec(k);
    if (!r) return;
    this.#marked.delete(k);
    this.#byHandle.delete(r.handleKey, k);
  }

  /** Marked inodes now. */
  get marks(): number {
    return this.#marked.size;
  }

  /** Inodes marked in the classic group (no file handles) now. */
  get fdMarks(): number {
    return this.#fdMarked.size;
  }

  /**
   * The marked inode an event's file handle names: the one inode with that
   * handle (whatever file system id the event carries: an fsid may differ
   * by mount), else the one whose whole key (fsid and handle) matches.
   */
  #lookup(fid: FanFid): InodeId | undefined {
    const ks = this.#byHandle.get(fid.handleKey);
    if (ks.length === 1) return this.#rec(ks[0])?.id;
    for (const k of ks) {
      const r = this.#rec(k);
      if (r && markKey(r) === fid.key) return r.id;
    }
    return undefined;
  }

  #onBytes(bytes: Uint8Array): void {
    if (this.#stopped) return;
    const readAt = performance.now();
    const batch = parseFanotify(bytes);
    this.#procFacts = new Map();
    try {
      for (const e of batch.events) this.#onEvent(e, readAt);
    } finally {
      // Never kept past its read: a pid is reused later.
      this.#procFacts = undefined;
    }
    if (batch.malformed) {
      // Never seen from a real kernel: whatever the rest held is covered by a rescan.
      this.counts.malformed++;
      this.opts.warn("fanotify returned a record that could not be parsed: rescanning every watch");
      this.#sink?.rescan("rescan");
    }
    // Not inside catchUp(): the startup's own code is running then.
    if (!this.#catchingUp) this.#sink?.runDue?.();
  }

  /** The bytes of one read of the classic group: each event's fd names its file. */
  #onFdBytes(bytes: Uint8Array): void {
    const batch = parseFanotify(bytes);
    // Every fd is closed (kept ones at their re-arm), also once stopped and after a malformed record.
    const kept = new Set<number>();
    try {
      if (!this.#stopped) this.#onFdEvents(batch.events, kept);
    } finally {
      for (const e of batch.events) if (!kept.has(e.fd)) FanotifyFdGroup.closeFd(e.fd);
    }
    if (batch.malformed && !this.#stopped) {
      this.counts.malformed++;
      this.opts.warn("fanotify returned a record that could not be parsed: rescanning every watch");
      this.#sink?.rescan("rescan");
    }
  }

  /** The classic group's events of one read; the fds muted through go into `kept`. */
  #onFdEvents(events: FanEvent[], kept: Set<number>): void {
    const readAt = performance.now();
    for (const e of events) {
      this.counts.fdEvents++;
      if (this.#overflowed(e) || e.pid === Deno.pid) continue;
      const key = FanotifyFdGroup.keyOf(e.fd);
      const id = key === undefined ? undefined : this.#byFdKey.get(key);
      if (!id) {
        this.counts.unmatched++;
        continue;
      }
      if (e.mask & FanMask.MODIFY && this.#fdMute(id, e.fd)) kept.add(e.fd);
      this.#hold(`i:${inodeKeyString(id)}:${e.pid}`, readAt, e, { id, op: FimOp.Write });
      if (e.mask & FanMask.CLOSE_WRITE) this.#writerClosed(id);
    }
  }

  /**
   * Mutes the writes of file `id` of the classic group through its event's
   * `fd` until its next re-read, as #mute() does by handle; returns whether
   * `fd` is kept for the re-arm.
   */
  #fdMute(id: InodeId, fd: number): boolean {
    const k = inodeKeyString(id);
    if (this.#fdMuted.has(k) || this.#fdMuted.size >= MAX_FD_MUTED) return false;
    if (!this.#fdGroup?.mute(fd, FanMask.MODIFY)) return false;
    this.#fdMuted.set(k, { fd, bits: FanMask.MODIFY });
    return true;
  }

  /** Whether `e` says the queue overflowed (then every watch is rescanned). */
  #overflowed(e: FanEvent): boolean {
    if (!(e.mask & FanMask.Q_OVERFLOW)) return false;
    this.counts.overflows++;
    // A lost FAN_DELETE_SELF may have been an early mark's: none is trusted any more.
    this.#early.clear();
    this.opts.warn("the fanotify queue overflowed: rescanning every watch");
    this.#sink?.rescan("rescan");
    return true;
  }

  #onEvent(e: FanEvent, readAt: number): void {
    if (e.fd >= 0) this.#closeFd(e.fd);
    this.counts.events++;
    if (this.#overflowed(e)) return;
    if (e.pid === Deno.pid) return; // the agent's own reads and marks
    if (this.#route(e, readAt)) return;
    if (this.#holding) this.#holdUnmatched(e, readAt);
    else this.counts.unmatched++;
  }

  /**
   * Keeps event `e`, which names no inode known yet, while a start's files
   * are marked by the workers: its inode may be one they marked whose mark
   * keepWorkerMarks() has not kept yet (a write between their mark and the
   * window's record). Too many held: the oldest goes, and every watch is
   * rescanned, as after a queue overflow.
   */
  #holdUnmatched(e: FanEvent, readAt: number): void {
    if (this.#heldUnmatched.length >= MAX_HELD_UNMATCHED) {
      this.#heldUnmatched.shift();
      this.counts.unmatched++;
      if (!this.#warnedHeld) {
        this.#warnedHeld = true;
        this.opts.warn(
          "fanotify held too many events about files not yet recorded: rescanning every watch",
        );
        this.#sink?.rescan("rescan");
      }
    }
    this.#heldUnmatched.push({ e: { ...e, fd: -1 }, readAt });
  }

  /** Routes the held events again (those still unmatched are held again while holding). */
  #replayHeld(): void {
    if (this.#heldUnmatched.length === 0) return;
    const held = this.#heldUnmatched;
    this.#heldUnmatched = [];
    this.#procFacts = new Map();
    try {
      for (const { e, readAt } of held) {
        if (this.#stopped) return;
        if (this.#route(e, readAt)) continue;
        if (this.#holding) this.#heldUnmatched.push({ e, readAt });
        else this.counts.unmatched++;
      }
    } finally {
      this.#procFacts = undefined;
    }
  }

  /** Sends event `e` where its inode's watch is; whether it named one. */
  #route(e: FanEvent, readAt: number): boolean {
    const self = e.fids.find((f) => f.infoType === InfoType.FID);
    const dir = e.fids.find((f) =>
      f.infoType === InfoType.DFID_NAME || f.infoType === InfoType.DFID ||
      f.infoType === InfoType.OLD_DFID_NAME || f.infoType === InfoType.NEW_DFID_NAME
    );
    let matched = false;
    if (e.mask & ENTRY) {
      // With names (5.9+) the directory is in a DFID record; without, the event's only FID is the directory.
      const dfid = this.group.names ? dir : self;
      const dirId = dfid && this.#lookup(dfid);
      if (dirId) {
        matched = true;
        const name = dfid?.name ? decodePathBytes(dfid.name) : undefined;
        const key = `d:${inodeKeyString(dirId)}/${name ?? ""}:${e.pid}`;
        this.#hold(key, readAt, e, { id: dirId, name, ops: entryOps(e.mask & ENTRY) });
      }
    }
    const content = e.mask & CONTENT && !(this.group.names === false && e.mask & ENTRY);
    const closed = e.mask & FanMask.CLOSE_WRITE;
    const id = (content || closed) && self ? this.#lookup(self) : undefined;
    if (id) {
      matched = true;
      // One call mutes both when the kernel merged a write and its close into one event.
      this.#mute(id, e.mask & (FanMask.MODIFY | FanMask.CLOSE_WRITE));
      if (content) {
        if (e.mask & FanMask.DELETE_SELF) this.#dead.add(inodeKeyString(id));
        this.#hold(`i:${inodeKeyString(id)}:${e.pid}`, readAt, e, {
          id,
          op: opOf(e.mask & CONTENT),
        });
      }
      if (closed) this.#writerClosed(id);
    }
    return matched;
  }

  /** Tells the monitor that a writer of `id` closed it: the re-read need not wait out the settle. */
  #writerClosed(id: InodeId): void {
    this.counts.closes++;
    for (const path of this.#watch?.pathsOfInode(id) ?? []) this.#sink?.writerClosed(path);
  }

  /** An fd comes only without FID reporting, which is never asked for: closed, never leaked. */
  #closeFd(fd: number): void {
    FanotifyGroup.closeFd(fd);
  }

  /**
   * Holds event `e` for its grace under `key` (an inode, or an entry, and the
   * process). A later event of the same key waits with it; an entry's
   * operations are all kept, in order: a name made and then renamed away or
   * removed is fed as both, not as its making alone (the monitor would take a
   * temporary file renamed over a watched one, as `sed -i` makes, for a file
   * made and deleted by no one), and a record the kernel merged from both is
   * both too (else a name made and removed would be fed as its removal alone,
   * and its making never reported).
   */
  #hold(
    key: string,
    readAt: number,
    e: FanEvent,
    what: { id: InodeId; name?: string; op?: FimOp; ops?: FimOp[] },
  ): void {
    // Keyed by process too: each process's event is its own cause, with its own grace.
    const p = this.#pending.get(key);
    if (p) {
      p.readAt = readAt;
      if (p.ops && what.ops) addEntryOps(p.ops, what.ops);
      return;
    }
    const ops = what.ops ? [] : undefined;
    if (ops) addEntryOps(ops, what.ops!);
    const op = ops?.[0] ?? what.op ?? FimOp.Write;
    // pid 0: an unprivileged listener is not told other processes' pids.
    const event = e.pid > 0
      ? eventFromProc(e.pid, what.id, op, {
        name: what.name,
        via: "fanotify",
        exited: this.exited,
        cache: this.#procFacts,
      })
      : undefined;
    this.#pending.hold(key, { readAt, id: what.id, name: what.name, event, ops });
    // Whatever re-read reports the change first (a BPF event's, a mount check's), it may name this process.
    if (!event) return;
    for (const path of this.#pathsOf(what.id, what.name)) this.#sink?.offer(path, event);
  }

  /** The watched paths a fanotify event is about: the inode's, or the entry's in each watched directory. */
  #pathsOf(id: InodeId, name?: string): string[] {
    const watch = this.#watch;
    if (!watch) return [];
    if (name === undefined) return watch.pathsOfInode(id);
    if (!name) return [];
    return watch.keys.dirPathsOf(id).filter((d) => watch.get(d)?.kind === "dir").map((d) =>
      childPath(d, name)
    );
  }

  /**
   * Resolves once no event read so far waits out its grace: each was fed to
   * the monitor (whose re-reads it may have scheduled) or found covered.
   */
  settled(): Promise<void> {
    return this.#pending.settled();
  }

  /** Whether an event read so far still waits out its grace. */
  get waiting(): boolean {
    return this.#pending.waiting;
  }

  /**
   * Feeds `p` to the monitor: an entry's operations with a process, each but
   * those the BPF object sent too (FanotifySink.covers); anything else,
   * unless every path it concerns was looked at since it was read.
   */
  #feed(p: Pending): void {
    const watch = this.#watch;
    const sink = this.#sink;
    if (!watch || !sink) return;
    const looked = (path: string) => (watch.get(path)?.lookedAt ?? -Infinity) >= p.readAt;
    if (p.name === undefined) {
      const paths = watch.pathsOfInode(p.id);
      if (paths.every(looked)) {
        this.counts.covered++;
        return;
      }
      this.counts.fed++;
      if (p.event) sink.onKernelEvent(p.event);
      else for (const path of paths) sink.schedule(path, undefined, "live", HIDDEN);
      return;
    }
    if (p.name && p.event) {
      // Each operation its own event, in order (the first is the one offered to re-reads), but
      // those the BPF object sent too. Not a listing since it was read: a name made and gone
      // before it is in no listing, and this may be its only event.
      const event = p.event;
      const fed = (p.ops ?? [event.op]).map((op, i) => i ? { ...event, op } : event)
        .filter((x) => !sink.covers?.(x));
      if (fed.length === 0) {
        this.counts.covered++;
        return;
      }
      this.counts.fed++;
      for (const x of fed) sink.onKernelEvent(x);
      return;
    }
    const dirs = watch.keys.dirPathsOf(p.id).filter((d) => watch.get(d)?.kind === "dir");
    const child = (d: string) => childPath(d, p.name!);
    const covered = dirs.every((d) =>
      looked(d) && (!p.name || !watch.get(child(d)) || looked(child(d)))
    );
    if (covered) {
      this.counts.covered++;
      return;
    }
    this.counts.fed++;
    const why = p.event ? "seen by fanotify only (this kernel reports no entry names)" : HIDDEN;
    for (const d of dirs) {
      sink.markDirty(d, undefined, "live", why);
      if (p.name && watch.get(child(d))) sink.schedule(child(d), undefined, "live", why);
    }
  }

  /** Registers the fanotify metrics. */
  register(metrics: MetricsRegistry): void {
    const c = this.counts;
    metrics.pulled(
      "bpfink_fanotify_events_total",
      "Events read from fanotify (the kernel's own file events, beside the BPF hooks).",
      "counter",
      () => c.events,
    );
    metrics.pulled(
      "bpfink_fanotify_only_total",
      "fanotify events no BPF event and re-read covered within the grace: fed to the monitor.",
      "counter",
      () => c.fed,
    );
    metrics.pulled(
      "bpfink_fanotify_overflows_total",
      "fanotify queue overflows (each one triggers a rescan).",
      "counter",
      () => c.overflows,
    );
    metrics.pulled(
      "bpfink_fanotify_queue_bytes",
      "Bytes of fanotify events read off the main thread and not handled yet (its pump's queue).",
      "gauge",
      () => this.group.pumpQueue?.bytes ?? 0,
    );
    metrics.pulled(
      "bpfink_fanotify_queue_full_total",
      "Times the pump's queue was full and fanotify's events waited in the kernel's queue.",
      "counter",
      () => this.group.pumpQueue?.fullWaits ?? 0,
    );
    metrics.pulled(
      "bpfink_fanotify_writer_closes_total",
      "Closes after writing a watched file (each lets its waiting re-read start at once).",
      "counter",
      () => c.closes,
    );
    metrics.pulled(
      "bpfink_fanotify_marks",
      "Inodes marked with fanotify.",
      "gauge",
      () => this.marks,
    );
    metrics.pulled(
      "bpfink_fanotify_mark_failures_total",
      "Inodes fanotify could not mark (left to the BPF hooks and the reconcile).",
      "counter",
      () => c.markFailures,
    );
    metrics.pulled(
      "bpfink_fanotify_fd_marks",
      "Files marked with fanotify without file handles (their file system refuses them): writes only.",
      "gauge",
      () => this.fdMarks,
    );
    metrics.pulled(
      "bpfink_fanotify_fd_events_total",
      "Events read from the fanotify group without file handles.",
      "counter",
      () => c.fdEvents,
    );
    metrics.pulled(
      "bpfink_fanotify_fd_lost_total",
      "Events that group dropped because the kernel could not open their file (each triggers a rescan).",
      "counter",
      () => c.fdLost,
    );
  }

  /** Stops feeding, and closes the group (every mark goes with it). */
  async stop(): Promise<void> {
    this.onMarksGoing?.();
    this.#stopped = true;
    this.#pending.stop();
    this.#heldUnmatched = [];
    this.#muted.clear();
    for (const k of [...this.#fdMuted.keys()]) this.#fdUnmute(k, false);
    this.#dead.clear();
    await this.group.close();
    await this.#fdGroup?.close();
    this.#fdGroup = null;
    this.#fdMarked.clear();
    this.#byFdKey.clear();
    this.#marked.clear();
    this.#byHandle.clear();
    this.#early.clear();
    this.#noFidDirs.clear();
  }
}

/**
 * The watch set's kernel table with fanotify beside it: every inode the
 * kernel map gets (or loses) is marked (or unmarked) too, through the paths
 * `watch()` has for it.
 */
export function withFanotify(
  kernel: KernelWatchTable,
  fan: FanotifySource,
  watch: () => WatchSet | undefined,
): KernelWatchTable {
  const pathsOf = (id: InodeId) => watch()?.pathsOfInode(id) ?? [];
  const typeAt = (path: string) => watch()?.get(path)?.type;
  return {
    watchEntry: (dir, h) => kernel.watchEntry(dir, h),
    unwatchEntry: (dir, h) => kernel.unwatchEntry(dir, h),
    watchDirPath: (base, h, dir) => kernel.watchDirPath(base, h, dir),
    unwatchDirPath: (base, h) => kernel.unwatchDirPath(base, h),
    watchBasename: (h) => kernel.watchBasename(h),
    unwatchBasename: (h) => kernel.unwatchBasename(h),
    holdEntries: kernel.holdEntries && (() => kernel.holdEntries!()),
    watchInode(id, flags) {
      // Marked before it enters the kernel map: the map's mark gate may skip unmarked inodes.
      let marked = false;
      try {
        marked = fan.watchInode(id, flags, pathsOf, typeAt);
      } finally {
        kernel.watchInode(id, flags, marked);
      }
    },
    unwatchInode(id) {
      try {
        kernel.unwatchInode(id);
      } finally {
        fan.unwatchInode(id);
      }
    },
  };
}

/**
 * Opens the fanotify source, or says in one warning line why there is none
 * (no CAP_SYS_ADMIN, a kernel without fanotify or file handle reporting):
 * the agent goes on with the BPF hooks and the reconcile. With `fallback`, files
 * that cannot be marked by file handle are marked in a classic group.
 */
export function openFanotify(
  warn: (message: string) => void,
  onLost?: (what: string) => void,
  fallback = true,
): FanotifySource | undefined {
  let group: FanotifyGroup;
  try {
    group = FanotifyGroup.open();
  } catch (e) {
    const what = `fanotify (${errorMessage(e)})`;
    warn(
      `coverage lost: ${what}; changes the syscall hooks cannot see ` +
        `(aliases, io_uring path operations) wait for the reconcile`,
    );
    onLost?.(what);
    return undefined;
  }
  if (!group.privileged) {
    warn(
      "fanotify runs without CAP_SYS_ADMIN: the kernel hides other processes' pids from it, " +
        "so a change only fanotify sees is reported without its process",
    );
  }
  return new FanotifySource(group, {
    warn,
    openFdGroup: fallback && group.privileged ? FanotifyFdGroup.open : undefined,
  });
}

/**
 * Routes kernel events to watched paths, folds bursts per path, re-reads the
 * path and reports what really changed. Re-arms the kernel's per-inode
 * pending flag before each re-read, so no write can fall between the read
 * and the next event.
 *
 * @module
 */
import { AgedMap } from "./aged_map.ts";
import { FIM_DEV_UNPLACED, type FimEvent, FimOp } from "../kernel/fim_event.ts";
import { lstat } from "./native_fs.ts";
import { basename } from "node:path";
import { childPath, parentPath } from "./path_names.ts";
import {
  type FileState,
  readAttrs,
  readFileState,
  readFileStateSoon,
  sameFile,
  stateChanged,
} from "./file_state.ts";
import { HASH_MAX_BYTES, ReadAbortedError, type ReadBudget } from "./safe_read.ts";
import { type InodeId, inodeKeyString } from "./inode_key.ts";
import type { WatchEntry, WatchSet } from "./watch_set.ts";
import type { AttributedEvent } from "./attribution.ts";
import { eventFromProc } from "./proc_event.ts";
import type { ChangeReason, FileAction, FileChange } from "../pipeline/file_change.ts";
import { mappingHolders } from "./mapping_holders.ts";
import { NS_PER_TICK, processDetails } from "./process_details.ts";
import { DeadlineClock } from "./deadline_clock.ts";
import { FairQueue } from "./fair_queue.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { errorMessage } from "../error_message.ts";
import { GRACE_MS as FANOTIFY_GRACE_MS } from "./fanotify_source.ts";
import { MountWatch, type MountWatchOptions } from "./mount_watch.ts";
import { madeInode, NameHistories, type NameHistory } from "./name_history.ts";
import { DepartedDirs } from "./departed_dirs.ts";
import { TurnSlice } from "./turn_slice.ts";
import { fileCapabilities } from "./file_capabilities.ts";
import { monotonicNs } from "../pipeline/change_time.ts";
import {
  type ChurnSummary,
  ITEMIZED_PER_WINDOW,
  TransientFold,
  WINDOW_MS,
} from "./transient_fold.ts";

/** Options for the monitor (with the mount tables it checks mounts against: MountWatchOptions). */
export interface FileMonitorOptions extends MountWatchOptions {
  /** Wait this long after the first event for a path before re-reading it (folds bursts). */
  settleMs?: number;
  /** Read content up to this many bytes with each state (for consumers). */
  keepContentUpTo?: number;
  /** Re-arms an inode in the kernel. */
  rearm: (id: InodeId) => void;
  /** Receives every change. */
  emit: (c: FileChange) => void;
  /** Receives problems that do not stop the agent (unreadable file, ...). */
  warn: (message: string) => void;
  /** While a process holds a watched file mapped shared and writable, re-read it this often. */
  mappedPollMs?: number;
  /** Whether a new entry found in watched directory `dir` is to be watched (include/exclude); default yes. */
  admits?: (dir: Pick<WatchEntry, "path" | "root">, path: string, isDir: boolean) => boolean;
  /**
   * Whether a program reads `path`, an entry of watched directory `dir`, by
   * its name (`authorized_keys`, a cron.d file cron runs): made and gone, it
   * is reported by name whatever a churn made before it (transient_fold.ts);
   * default none.
   */
  matters?: (dir: Pick<WatchEntry, "path" | "root">, path: string) => boolean;
  /** Hands the kernel events sent so far to onKernelEvent now (the ring buffer's drain). */
  drain?: () => void;
  /**
   * Undefined when the kernel's events sent so far have all reached
   * onKernelEvent; else a promise that resolves once they have (or after a
   * bound): a report waits for it, so that a write whose event is queued
   * behind a flood is still credited to its process. With `about`, only
   * events that may name one of those inode numbers are waited for.
   */
  behind?: (about?: readonly bigint[]) => Promise<void> | undefined;
  /**
   * The processes the kernel kept for events it dropped (a full ring buffer)
   * about directory `dir`'s entries, once the drops so far are checked;
   * undefined when it dropped none lately. A listing asks it for entries no
   * kernel event named.
   */
  heldFor?: (dir: InodeId) => Promise<FimEvent[]> | undefined;
  /** Files larger than this are not hashed, only their metadata compared (default HASH_MAX_BYTES). */
  hashMaxBytes?: number;
  /**
   * Whether a writer's close of `path` reaches writerClosed (fanotify marks
   * its inode for FAN_CLOSE_WRITE); default no. Only then does a path that a
   * writer holds open while it writes wait HOT_SETTLE_MAX_MS for its next
   * re-read (see PathQueue.held).
   */
  closesReported?: (path: string) => boolean;
  /** How long root's lane may read on this thread in a turn of the event loop (HERE_SLICE_MS). */
  hereSliceMs?: number;
}

interface PathQueue {
  /** The settle's deadline (DeadlineClock id). */
  timer?: number;
  running?: Promise<void>;
  dirty: boolean;
  causes: FimEvent[];
  reason: ChangeReason;
  unattributed?: string;
  /** Re-reads in a row that found the path changed again while it was read or soon after. */
  hot: number;
  /** The re-read starts in a microtask, with no settle (a writer closed the file). */
  soon?: boolean;
  /** Due, and waiting for a place in its lane (MAX_READS_IN_FLIGHT, PRIORITY_READS_IN_FLIGHT). */
  waiting?: boolean;
  /** It waits among the lane's bulk re-reads (a rescan's or reconcile's, no event's: isBulk). */
  bulk?: boolean;
  /** The lane it waits in or was read in: 1 for the priority lane, 0 for the other. */
  lane?: 0 | 1;
  /** When a writer last closed it while this queue was kept (performance.now()). */
  closedAt?: number;
  /**
   * Its wait is HOT_SETTLE_MAX_MS because a writer holds it open: it changed
   * while it was read and no writer closed it since, so the writer's close,
   * which ends this wait, is to come.
   */
  held?: boolean;
  /**
   * A close ended a held wait: this queue waits no more for a close. A writer
   * that opens, writes and closes again and again keeps the doubling wait.
   */
  heldOnce?: boolean;
}

/**
 * The longest a path changed again and again waits before its next re-read.
 * A path written while it is being read, or again sooner after the read than
 * its last wait, is re-read after a wait that doubles each time in a row
 * (2, 4, 8 … ms, at most this), so a flood of writes to
 * some watched files folds into a few re-reads a second each and cannot crowd
 * out the first change of another file, which is read after the usual settle.
 * Nothing is skipped: every re-read sees everything written before it.
 *
 * A path that changed while it was read, with no writer's close since the
 * read started, is held open by a writer that is still writing (a flood of
 * appends through one fd, a copy under way): where its close is reported
 * (FileMonitorOptions.closesReported), its next re-read waits this long at
 * once, and the close ends the wait (writerClosed), so the flood's end is
 * read as soon as it is written, and the reads in between, which find a file
 * still changing, are not made: a flood of 50,000 appends was read 3 times,
 * one of 1,000,000 about 8. A writer that never closes is read at least every
 * HOT_SETTLE_MAX_MS, as before.
 */
export const HOT_SETTLE_MAX_MS = 250;

/**
 * A held wait (see HOT_SETTLE_MAX_MS): a time drawn in the second half of
 * HOT_SETTLE_MAX_MS. Files that one flood began together (100 files appended
 * to round-robin through open fds) would otherwise all come due at once, every
 * 250 ms, and a change of another file, closed by its writer, waited behind
 * them in its lane (bench/latency.ts, its flood row: p90 16 ms with one wait
 * for all, 4.6 ms spread, 2.6-7.4 ms before held waits).
 */
function heldWait(): number {
  return HOT_SETTLE_MAX_MS * (0.5 + Math.random() / 2);
}

/**
 * Re-reads under way at once; paths due beyond it wait their turn, in the
 * order they came due. Each re-read runs a few hundred microseconds on the
 * main thread around its reads (stat, hash, diff, the store, the outputs):
 * 100,000 started at once by a mass change held the event loop for seconds,
 * and with it the ring buffer's reader, until the kernel dropped events and
 * their processes were lost. With this many, a turn of the event loop does
 * at most this many of them.
 */
export const MAX_READS_IN_FLIGHT = 16;

/**
 * Re-reads under way at once in the priority lane, beside the others: files
 * owned by root (as last read, or lstat for a path not read yet). An unprivileged user's files can fill the other lane
 * (20 sparse files of a terabyte each, a create/unlink flood beside thousands
 * of files), never this one: root's change to passwd is read while theirs
 * wait, and is taken first from its own queue.
 */
export const PRIORITY_READS_IN_FLIGHT = 4;

/**
 * Whether a re-read is bulk work: a rescan's or a reconcile's, for no event (after a fanotify
 * queue overflow or a drop that held nothing, every watch is rescanned: 20,000 files in one
 * bench run). In each lane bulk re-reads wait behind those an event asked for, and leave one
 * place free for them, so that root's live change is not read after a whole tree of root's files.
 */
function isBulk(q: Pick<PathQueue, "causes" | "reason">): boolean {
  return q.causes.length === 0 && (q.reason === "rescan" || q.reason === "reconcile");
}

/** Re-reads `lane` may have in flight before one more waits: bulk ones leave one place free. */
function laneRoom(lane: 0 | 1, bulk: boolean): number {
  return (lane ? PRIORITY_READS_IN_FLIGHT : MAX_READS_IN_FLIGHT) - (bulk ? 1 : 0);
}

/** A lane's waiting paths: those an event asked for, and bulk ones (isBulk). */
interface Waiting {
  live: FairQueue;
  bulk: FairQueue;
}

/** Files larger than this are not hashed (safe_read.ts); the live monitor's default. */
export { HASH_MAX_BYTES };

/** The longest one re-read hashes a file before giving up on its hash. */
export const READ_MAX_MS = 10_000;

const NAME_OPS = new Set([
  FimOp.NewEntry,
  FimOp.Rename,
  FimOp.Unlink,
  FimOp.Create,
  FimOp.PathTruncate,
  FimOp.PathAttrib,
  FimOp.Link,
  FimOp.DirEntry,
  FimOp.PathXattr,
]);

const XATTR_OPS = new Set([FimOp.Xattr, FimOp.PathXattr]);

/**
 * Whether a re-read must read `after`'s extended attributes and inode flags
 * (extra_attrs.ts) anew, where it may keep `before`'s: for another inode, a
 * state that does not know them, a re-read no kernel event started, an
 * attribute or xattr op (chattr and setfacl are), or a ctime moved with no
 * write (a metadata change whose event was folded away). A write alone,
 * the common case, costs no call.
 */
export function attrsMayHaveChanged(
  before: FileState | undefined,
  after: FileState,
  causes: readonly FimEvent[],
  reason: ChangeReason,
): boolean {
  if (!before || before.attrs === undefined || !sameFile(before, after)) return true;
  if (reason !== "live" || causes.length === 0) return true;
  // An attribute or xattr op (chattr is an Attrib: bpf/fim_common.bpf.h).
  if (causes.some((c) => ATTR_OPS.has(c.op))) return true;
  return before.ctimeNs !== after.ctimeNs && before.mtimeNs === after.mtimeNs;
}

/** Name operations that leave the name at the same inode (an ancestor's chmod, say). */
const SAME_PLACE_OPS = new Set([FimOp.PathAttrib, FimOp.PathXattr, FimOp.PathTruncate]);

/** Kernel operations that are reported even when the re-read finds nothing changed. */
const TOUCH_OPS = new Set([FimOp.Rename, FimOp.Link, FimOp.Truncate, FimOp.PathTruncate]);

/**
 * Kernel operations that are reported when the re-read finds nothing changed
 * and no report has named them yet: what they did is already in the last
 * report (they landed while it was read, their event came after).
 */
const UNREPORTED_OPS = new Set([
  FimOp.Write,
  FimOp.Attrib,
  FimOp.PathAttrib,
  FimOp.Xattr,
  FimOp.PathXattr,
  FimOp.NewEntry,
  FimOp.Create,
]);

/** Name operations that put an inode at a name, and those that take one away. */
const MAKES_OPS = new Set([FimOp.NewEntry, FimOp.Create, FimOp.Rename, FimOp.Link]);
const REMOVES_OPS = new Set([FimOp.Unlink, FimOp.Rename]);

/** Whether an event of `c`'s kind, seen while a re-read ran, may have made the change it found. */
function mayHaveMade(action: FileAction, c: FimEvent): boolean {
  // By fd, by path or through a mapping (fchmod and chmod, ftruncate and truncate).
  if (action === "modified" || action === "attributes_changed") {
    return CONTENT_OPS.has(c.op) || ATTR_OPS.has(c.op);
  }
  if (action === "created" || action === "replaced") return MAKES_OPS.has(c.op);
  if (action === "deleted") return REMOVES_OPS.has(c.op);
  return false;
}

/** Bound on the causes one report carries. */
const MAX_CAUSES = 64;

/** A watched directory to list again, and why. */
interface DirtyDir {
  /** The kernel events that named an entry of this directory since it was marked, by name. */
  names: NameHistories;
  reason: ChangeReason;
  /** Why no process is named for an entry no event named. */
  unattributed?: string;
  /**
   * The root of the rule the directory was watched under, when it was marked:
   * a directory removed from the tree before its listing still has the names
   * the kernel said were made in it reported.
   */
  root?: string;
}

/** A directory listed (or gone before its listing), its events, and which names were watched before. */
interface Listed {
  dir: Pick<WatchEntry, "path" | "root">;
  why: DirtyDir;
  knew: Set<string>;
}

/** How long a directory whose listing failed waits to be listed again (#listLater). */
const LIST_RETRY_MS = 1000;

/** Why an entry found by listing a directory has no process. */
const LISTED = "found by listing its directory; no kernel event named it";

/** Why nothing is known of a file but its name: gone before any read. */
const REMOVED_UNREAD = "removed (or renamed away) before it could be read";
/** Why nothing is known of a file but its name: another took its name before any read. */
const REPLACED_UNREAD = "replaced at its name before it could be read";

/** Syscalls that make a directory (x86_64 and i386 numbers): a NewEntry event of these made one. */
const MKDIR_SYSCALLS = new Set([83, 258, 39, 296]);

/** What the event that made a name made, as far as it says. */
function madeKind(e: FimEvent | undefined): "file" | "dir" {
  return e?.op === FimOp.NewEntry && MKDIR_SYSCALLS.has(e.syscallNr) ? "dir" : "file";
}

/**
 * How long a name event is remembered for the path it names: a listing can
 * find an entry before the event that made it is read from the ring buffer.
 * Beyond that, an event is kept while a directory listing is pending and no
 * listing that started after the event has ended: the listing that finds its
 * entry is then still to come, however slow (a new directory's listing finds
 * what the kernel placed on its tree-watched ancestor only after its parent's
 * listing found the directory).
 */
const RECENT_MS = 2000;
/** Bound on paths with remembered name events (the oldest go first). */
const RECENT_MAX = 8192;
/** Name events remembered per path (FileMonitor.#recent). */
const RECENT_PER_PATH = 8;

/** The BPF object's name events kept per path for fanotify's twins (FileMonitor.covers). */
const NAMED_PER_PATH = 8;

/**
 * An entry operation as fanotify tells it: a mkdir, mknod, symlink or link
 * makes an entry as an open(O_CREAT) does (FAN_CREATE).
 */
function entryKind(op: FimOp): FimOp {
  return op === FimOp.NewEntry || op === FimOp.Link ? FimOp.Create : op;
}

/**
 * The record of `key` in `map` (made by `make` when there is none), moved to the newest end
 * (insertion order = age) and stamped `now`.
 */
function touch<K, V extends { at: number }>(
  map: AgedMap<K, V>,
  key: K,
  now: number,
  make: () => V,
): V {
  const v = map.get(key) ?? make();
  map.setNewest(key, v);
  v.at = now;
  return v;
}
/**
 * How long a writer's close read before its write's kernel event still ends
 * that event's settle (see FileMonitor.writerClosed).
 */
const CLOSE_AHEAD_MS = 2;

/** PathQueue.running while a re-read's #process has not returned yet. */
const STARTED: Promise<void> = Promise.resolve();

/** How long a path no event named waits for one still in the ring buffer. */
const EVENT_GRACE_MS = 100;

/**
 * A file of at most this many bytes that only root can write is read on this
 * thread (ReadBudget.rootsHereUpTo) by a lane's only re-read, when it is not
 * bulk work (isBulk), and by any re-read of root's lane while the turn's slice
 * (HERE_SLICE_MS) lasts: passwd, shadow, sudoers and their like are a few KiB.
 * Under a user's flood each read off it waited 30-480 ms for the event loop's
 * turn (bench/user_flood.ts), and a live change waited for a rescan's read of
 * the same file off it. Re-reads read here follow one another with no turn of
 * the loop between them: with no slice, a change of 100,000 of root's files
 * held it for 12 s (bench/mass_change.ts).
 */
const ROOTS_HERE_UP_TO = 64 * 1024;

/**
 * How long re-reads of root's lane read on this thread (ROOTS_HERE_UP_TO), one after another,
 * may hold a turn of the event loop (TurnSlice); past it they read off it until the next turn.
 */
export const HERE_SLICE_MS = 8;

/**
 * How long after a report of a path a write no report named is still taken
 * for one whose event came late for it (the ring buffer's lag, then the
 * re-read's settle, which doubles up to HOT_SETTLE_MAX_MS for a busy path).
 * Past it, or with no report before, the event's inode may be a wrong guess
 * (an fd swapped by dup2 before the kernel read it) and nothing is said.
 */
const LATE_EVENT_MS = EVENT_GRACE_MS + HOT_SETTLE_MAX_MS;

/** The components of a kernel name placed on a tree ancestor ("b/c/name"), or undefined when unusable. */
function treeComponents(name: string): string[] | undefined {
  const parts = name.split("/").filter((c) => c !== "" && c !== ".");
  return parts.length === 0 || parts.includes("..") ? undefined : parts;
}

/** Events kept in order per directory inode no listing found yet (FileMonitor.#orphans). */
const ORPHAN_EVENTS = 256;

/** How long a coalesced unplaced-path or mount key stays pending: at most one event per period. */
const UNPLACED_REARM_MS = 200;

/**
 * How long an event on an inode its path no longer names waits before the path
 * is checked: past the grace in which fanotify's event for the same change is
 * fed (and names the process).
 */
const STALE_WAIT_MS = 2 * FANOTIFY_GRACE_MS;

/** Why a change found after an event on an inode the path no longer names has no process. */
const STALE_INODE =
  "replaced or removed by a change no hook named; a kernel event came only for the inode the path had before (or for a new file with its number)";

/** Whether `path` now names an inode other than `id` (device and number), or nothing (lstat only). */
function namesOtherInode(path: string, id: InodeId): boolean {
  try {
    const st = lstat(path);
    return !st || !kernelIdentity.isInode(st, id);
  } catch {
    return false; // cannot tell: keep the event
  }
}

/** Whether `path` still has the inode and ns timestamps `entry` last knew (lstat only, no read). */
function sameStamps(entry: WatchEntry | undefined, path: string): boolean {
  let st;
  try {
    st = lstat(path);
  } catch {
    return false;
  }
  const id = entry?.id;
  if (!id || !st) return !id && !st;
  return kernelIdentity.isInode(st, id) && entry!.stampsAre(st.ctimeNs, st.mtimeNs);
}

/** Turns kernel events into file changes. */
export class FileMonitor {
  readonly #queues = new Map<string, PathQueue>();
  /** Paths whose queue ended lately: how hot they were and when (HOT_SETTLE_MAX_MS). */
  readonly #cooling = new Map<string, { hot: number; at: number }>();
  /** Paths whose last re-read could not read them whole, already warned about. */
  readonly #unreadable = new Set<string>();
  readonly #settleMs: number;
  #idleWaiters: (() => void)[] = [];
  /** Paths mapped shared+writable → the processes (tgid) that mapped them, with the mapping event. */
  readonly #mapped = new Map<string, Map<number, FimEvent>>();
  /**
   * Mapping events the mapping's poll has queued again: a re-read they are in was started by
   * the clock, not by the kernel, so they are no sign of a write in it.
   */
  readonly #polled = new WeakSet<FimEvent>();
  #mappedTimer?: ReturnType<typeof setInterval>;
  /** Watched directories whose listing may have changed, synced together (so a rename is one move). */
  readonly #dirtyDirs = new Map<string, DirtyDir>();
  /** The directory sync's settle deadline (DeadlineClock id). */
  #syncTimer?: number;
  /** Settle deadlines, on time (Deno's timers fire a millisecond late). */
  readonly #clock = new DeadlineClock();
  #syncing?: Promise<void>;
  /** Set by stop(): nothing new starts, and what runs does not schedule more. */
  #stopped = false;
  /** Re-reads in flight (stop() waits for them before the kernel side closes). */
  readonly #inFlight = new Set<Promise<void>>();
  /** Re-reads in flight in each lane (0: the other lane, 1: the priority lane). */
  readonly #laneBusy: [number, number] = [0, 0];
  /**
   * Per lane, paths whose re-read is due and waits for a place in it, an event's (`live`) taken
   * before bulk ones (isBulk): owners take turns, each owner's in the order they came due (a path
   * whose queue no longer waits is skipped).
   */
  readonly #waiting: [Waiting, Waiting] = [
    { live: new FairQueue(), bulk: new FairQueue() },
    { live: new FairQueue(), bulk: new FairQueue() },
  ];
  /** Aborted by stop(): the reads under way end at their next chunk. */
  readonly #abort = new AbortController();
  /** The budget of every re-read. */
  readonly #budget: ReadBudget;
  /** The budget of a re-read on this thread: root's small files are read here (ROOTS_HERE_UP_TO). */
  readonly #hereBudget: ReadBudget;
  /** The part of a turn of the event loop root's lane may read on this thread (HERE_SLICE_MS). */
  readonly #hereSlice: TurnSlice;
  /** Re-reads that found a file over the hash limit (metadata compared only). */
  notHashedLarge = 0;
  /** Re-reads of root's small files made on this thread (ROOTS_HERE_UP_TO). */
  readHere = 0;
  /** Re-reads that could not read a file whole (it kept changing, it took too long, over the limit). */
  notReadWhole = 0;
  /** Paths seen by a re-read, then gone before a second read: reported created (or replaced) and deleted. */
  goneAfterFirstRead = 0;
  /** Kernel events for paths the first baseline had not read yet. */
  readonly #held = new Map<string, FimEvent[]>();
  /**
   * The latest name events for each path, in order (RECENT_PER_PATH), for
   * RECENT_MS (insertion order = age). The latest alone was kept once: a
   * file made and removed before a report looked for its maker had only its
   * removal left, and was reported made by no one, or not at all.
   */
  readonly #recent = new AgedMap<string, { at: number; events: FimEvent[] }>(RECENT_MAX);

  /** When the last directory sync to end had started (the events since may be in no listing yet). */
  #syncedFrom = 0;
  /** When the directory sync running now started. */
  #syncStarted?: number;

  /** Whether a name event remembered at `at` is still kept (RECENT_MS). */
  #kept(at: number, now: number): boolean {
    if (now - at <= RECENT_MS) return true;
    const listing = this.#dirtyDirs.size > 0 || this.#syncStarted !== undefined ||
      this.#syncTimer !== undefined;
    return listing && at >= this.#syncedFrom;
  }

  #remember(path: string, e: FimEvent): void {
    const now = performance.now();
    const recent = touch(this.#recent, path, now, () => ({ at: now, events: [] }));
    recent.events.push(e);
    if (recent.events.length > RECENT_PER_PATH) {
      // The first maker stays (a name's report credits the event that made it).
      const drop = recent.events.findIndex((x, i) => i > 0 || !MAKES_OPS.has(x.op));
      recent.events.splice(drop, 1);
    }
    this.#recent.dropOldest((r) => this.#kept(r.at, now), now);
    if (e.via !== "fanotify") {
      const r = touch(this.#named, path, now, () => ({ at: now, events: [] as FimEvent[] }));
      r.events.push(e);
      if (r.events.length > NAMED_PER_PATH) r.events.shift();
      this.#named.dropOldest((x) => now - x.at <= RECENT_MS, now);
    }
    if (e.op === FimOp.Rename || e.op === FimOp.Link) {
      const k = writerKey(e);
      const r = touch(this.#renamesBy, k, now, () => ({ at: now, paths: new Set<string>() }));
      if (r.paths.size < 64) r.paths.add(path);
      this.#renamesBy.dropOldest((x) => now - x.at <= RECENT_MS, now);
    }
  }

  /**
   * The BPF object's name events by the path they name, for RECENT_MS
   * (insertion order = age), not yet taken for the twin of a fanotify event
   * (covers).
   */
  readonly #named = new AgedMap<string, { at: number; events: FimEvent[] }>(RECENT_MAX);

  /**
   * Whether fanotify's event `e` about an entry is the twin of a name event
   * the BPF object sent: for each watched path it names, an event of the
   * same operation by the same process (one of a process gone from /proc
   * before fanotify's event was read is named by its pid alone) that no
   * other fanotify event was taken for. The BPF object's event has the full
   * attribution, and was routed: fed as well, fanotify's would be a second
   * report of the same change (a name made and gone reported twice, or made
   * and gone by no one when it was renamed over a watched name), whenever
   * its directory was listed before fanotify's event was read. A twin is
   * taken once: the same operation again, that only fanotify saw, is fed.
   */
  covers(e: FimEvent): boolean {
    if (e.via !== "fanotify" || !e.name || e.name.includes("/") || !NAME_OPS.has(e.op)) {
      return false;
    }
    this.opts.drain?.(); // the twin may be in the ring buffer still
    const dirs = this.watch.keys.dirPathsOf({ dev: e.dev, ino: e.dirIno });
    if (dirs.length === 0) return false;
    const now = performance.now();
    const twins: [FimEvent[], number][] = [];
    for (const d of dirs) {
      const r = this.#named.get(childPath(d, e.name));
      const i = r && now - r.at <= RECENT_MS
        ? r.events.findIndex((x) =>
          entryKind(x.op) === entryKind(e.op) && x.tgid === e.tgid &&
          (e.startNs === 0n || writerKey(x) === writerKey(e))
        )
        : -1;
      if (i < 0) return false;
      twins.push([r!.events, i]);
    }
    for (const [events, i] of twins) events.splice(i, 1);
    return true;
  }

  /**
   * The watched paths each process renamed from or to, or linked to, lately (writerKey;
   * insertion order = age).
   */
  readonly #renamesBy = new AgedMap<string, { at: number; paths: Set<string> }>(RECENT_MAX);

  /**
   * Whether the file `made` put at `path` (its inode, as the kernel said) was
   * renamed by `removed` to another watched name, or linked there by the
   * process that unlinked it, where it is now: a temporary file renamed over
   * a watched one (`sed -i`, `mv tmp f`), or git's object written as
   * `tmp_obj_*`, linked to its name and unlinked; that name's own report
   * shows it. Not when the file is at no other watched name.
   */
  #movedOn(path: string, made: FimEvent | undefined, removed: FimEvent | undefined): boolean {
    // (A link(2) of the name to another is a "make" of both names, with no inode said.)
    const ino = madeInode(made) ?? madeInode(this.#makerOf(path, removed));
    if (ino === undefined) {
      // No inode known for it (a listing found the name; its creation's event is not the one in
      // hand): renamed by a process that renamed onto another watched name, whose own report
      // shows the file (`sed -i`'s temporary file, its name then taken by an `mv`).
      const renamer = [removed, made, this.#recentCause(path)].find((e) => e?.op === FimOp.Rename);
      if (!renamer) return false;
      for (const p of this.#renamesBy.get(writerKey(renamer))?.paths ?? []) {
        if (p !== path && this.watch.get(p)?.state) return true;
      }
      return false;
    }
    if (removed?.op !== FimOp.Rename && removed?.op !== FimOp.Unlink) return false;
    for (const p of this.#renamesBy.get(writerKey(removed))?.paths ?? []) {
      if (p === path) continue;
      try {
        if (lstat(p)?.ino === ino) return true;
      } catch {
        // cannot tell: not moved there
      }
    }
    return false;
  }

  /** Whether every one of `events` was carried by a report of `path` (or claimed for one) already. */
  #allReported(path: string, events: (FimEvent | undefined)[]): boolean {
    return events.every((e) => !e || this.#reportedFor(e, path));
  }

  /** Marks `e` as carried by a report of `path` (before that report goes out). */
  #claim(e: FimEvent | undefined, path: string): void {
    if (!e) return;
    const paths = this.#reported.get(e);
    if (paths) paths.add(path);
    else this.#reported.set(e, new Set([path]));
  }

  /**
   * Name events in directories not listed yet, by directory inode (insertion order = age): the
   * latest for each name, and the latest ORPHAN_EVENTS in order (a number reused by one new
   * directory after another holds the events of each).
   */
  readonly #orphans = new AgedMap<
    string,
    { at: number; byName: Map<string, FimEvent>; events: FimEvent[] }
  >(RECENT_MAX);

  #keepOrphan(e: FimEvent): void {
    const now = performance.now();
    const k = inodeKeyString({ dev: e.dev, ino: e.dirIno });
    const o = touch(this.#orphans, k, now, () => ({ at: now, byName: new Map(), events: [] }));
    if (o.byName.size < 1024) o.byName.set(e.name!, e);
    o.events.push(e);
    if (o.events.length > ORPHAN_EVENTS) o.events.shift();
    this.#orphans.dropOldest((r) => this.#kept(r.at, now), now);
  }

  /**
   * Events #adoptOrphans gave a path: named by a directory inode only, which
   * another directory may have had before (a number reused), so never the
   * only word that an entry existed there (#madeInside).
   */
  readonly #adopted = new WeakSet<FimEvent>();

  /**
   * A listing found directory `path` with inode `id`: the events kept for it
   * now name paths. Those that came after `madeAt` (the kernel's time of the
   * latest event that put a directory at `path`, when known) are the
   * directory's own, noted as its names' events as if they had come after it
   * was watched: a file made and removed in it through a descriptor before
   * its listing is reported made and gone by its process, as one made after
   * (only the latest event of each name was remembered once: such a file was
   * not reported at all). Events before it, or all when it is not known, may
   * be another directory's that had the number before.
   */
  #adoptOrphans(path: string, id: InodeId, reason: ChangeReason, madeAt?: bigint): void {
    const k = inodeKeyString(id);
    const o = this.#orphans.get(k);
    if (!o) return;
    this.#orphans.delete(k);
    if (!this.#kept(o.at, performance.now())) return;
    const own = new Set(madeAt === undefined ? [] : o.events.filter((e) => e.tsNs >= madeAt));
    for (const e of own) {
      this.#remember(childPath(path, e.name!), e);
      this.markDirty(path, e, reason);
    }
    for (const [name, e] of o.byName) {
      if (own.has(e)) continue;
      this.#adopted.add(e);
      this.#remember(`${path}/${name}`, e);
    }
  }

  /** fanotify events for paths, kept for the next re-read that finds no BPF event (insertion order = age). */
  readonly #offered = new AgedMap<string, { at: number; e: FimEvent }>(RECENT_MAX);

  /**
   * fanotify saw a change of `path` (read now): the next re-read that starts
   * after this and has no BPF event names its process from it, whatever made
   * that re-read (src/watch/fanotify_source.ts).
   */
  offer(path: string, e: FimEvent): void {
    const now = performance.now();
    this.#offered.setNewest(path, { at: now, e });
    this.#offered.dropOldest((r) => now - r.at <= RECENT_MS, now);
  }

  /** Paths a writer closed while no re-read of them was queued, and when (performance.now()). */
  readonly #closed = new AgedMap<string, number>(RECENT_MAX);

  /**
   * A process that wrote `path` closed it (fanotify's FAN_CLOSE_WRITE):
   * what it wrote is complete, so a re-read waiting out its settle for a
   * kernel event starts now instead (the settle exists so that a read does
   * not land between one writer's writes). A path written again and again
   * keeps its longer wait. A close read before the write's own event (the
   * ring buffer and fanotify are read apart; 7 in 100 appends here) is kept
   * for CLOSE_AHEAD_MS, and an event that comes within it starts its
   * re-read at once.
   */
  writerClosed(path: string): void {
    if (this.#stopped) return;
    const q = this.#queues.get(path);
    const now = performance.now();
    if (!q) {
      this.#closed.setNewest(path, now);
      this.#closed.dropOldest((at) => now - at <= CLOSE_AHEAD_MS, now);
      return;
    }
    q.closedAt = now;
    if (q.held && q.timer !== undefined) {
      // The writer that held it open is done: read what it wrote now. Once: a writer that
      // opens, writes and closes again and again keeps the doubling wait.
      q.held = false;
      q.heldOnce = true;
      this.#clock.cancel(q.timer);
      q.timer = undefined;
      return this.#runSoon(path, q);
    }
    if (q.timer === undefined || q.running || q.hot || !q.causes.length) return;
    this.#clock.cancel(q.timer);
    q.timer = undefined;
    this.#runSoon(path, q);
  }

  /**
   * Runs `path`'s re-read once the code that queued it has returned (a
   * microtask: later events of the same ring-buffer batch still join it),
   * not after the settle.
   */
  #runSoon(path: string, q: PathQueue): void {
    q.soon = true;
    queueMicrotask(() => {
      if (q.soon && !this.#stopped) this.#run(path);
    });
  }

  /** The kernel event that named `path` lately, if any. */
  #recentCause(path: string): FimEvent | undefined {
    return this.#recentOf(path).at(-1);
  }

  /** The kernel events that named `path` lately, in order. */
  #recentOf(path: string): readonly FimEvent[] {
    const r = this.#recent.get(path);
    return r && this.#kept(r.at, performance.now()) ? r.events : [];
  }

  /**
   * The first baseline read `path`: events the kernel sent before that read
   * are re-checked against it now (a rename or link the read already
   * includes is reported as touched, with its process).
   */
  baselined(path: string): void {
    const entry = this.watch.get(path);
    if (entry) entry.awaitingBaseline = false;
    const held = this.#held.get(path);
    if (!held) return;
    this.#held.delete(path);
    for (const c of held) this.schedule(path, c, "live");
  }

  /**
   * The paths whose reports have carried each kernel event (a re-read it starts
   * again is not news there; an event placed on a directory that names a path
   * below it is still news for that path).
   */
  readonly #reported = new WeakMap<FimEvent, Set<string>>();

  #reportedFor(e: FimEvent, path: string): boolean {
    return this.#reported.get(e)?.has(path) ?? false;
  }
  /**
   * When each path's last report was made (performance.now()) and the processes it named
   * (writerKey), for LATE_EVENT_MS (insertion order = age).
   */
  readonly #lastReport = new AgedMap<string, { at: number; writers: Set<string> }>(RECENT_MAX);

  /**
   * Whether a change of `path` was reported within LATE_EVENT_MS, and that report did not
   * name `e`'s process already (then `e` is news only if it is another kind of change).
   */
  #lateFor(path: string, e: FimEvent): boolean {
    const r = this.#lastReport.get(path);
    return r !== undefined && performance.now() - r.at <= LATE_EVENT_MS &&
      !r.writers.has(writerKey(e));
  }

  /**
   * `causes` and every writer whose write may be in what was just read of
   * `path`: the events that came while it was read (they stay queued too,
   * for the re-read they start) and the processes that hold it mapped shared
   * and writable (they write with no syscall, at any moment). The ring buffer
   * is drained first, so every event the kernel sent before now is among them.
   */
  #withPossibleWriters(path: string, action: FileAction, causes: FimEvent[]): FimEvent[] {
    this.opts.drain?.();
    const all = [...causes];
    const join = (c: FimEvent) => {
      if (all.length < MAX_CAUSES && !all.includes(c)) all.push(c);
    };
    for (const c of this.#queues.get(path)?.causes ?? []) if (mayHaveMade(action, c)) join(c);
    if (action === "modified" || action === "attributes_changed") {
      for (const c of this.#mapped.get(path)?.values() ?? []) join(c);
    }
    return all;
  }

  /** Whether #drainOnce drained the ring buffer in this synchronous run already. */
  #drained = false;

  /**
   * Drains the ring buffer (FileMonitorOptions.drain) once per synchronous run. A listing
   * reports every name gone before any read in one run (up to MAX_NAMES of a directory), and a
   * drain for each had that one run hand over up to 64 of the ring's records a name: seconds
   * of the event loop under a user's churn (bench/user_flood.ts), while root's re-read waited.
   * The first drain takes what the kernel had sent by then; what comes after is waited for in
   * each name's grace.
   */
  #drainOnce(): void {
    if (this.#drained) return;
    this.#drained = true;
    queueMicrotask(() => this.#drained = false);
    this.opts.drain?.();
  }

  /** Paths added with a state already (new directories): report them as created. */
  readonly #fresh = new Set<string>();

  constructor(readonly watch: WatchSet, readonly opts: FileMonitorOptions) {
    this.#settleMs = opts.settleMs ?? 2;
    this.mountWatch = new MountWatch(
      {
        watch,
        emit: (c) => opts.emit(c),
        schedule: (path, cause, reason, unattributed) =>
          this.schedule(path, cause, reason, unattributed),
        drain: () => opts.drain?.(),
        rearmLater: (id, ms, recheck) => this.#rearmLater(id, ms, recheck),
        stopped: () => this.#stopped,
        unchanged: (entry) => sameStamps(entry, entry.path),
        writerKey,
      },
      UNPLACED_REARM_MS,
      opts,
    );
    this.#budget = {
      maxSize: opts.hashMaxBytes ?? HASH_MAX_BYTES,
      maxMs: READ_MAX_MS,
      signal: this.#abort.signal,
    };
    this.#hereBudget = { ...this.#budget, rootsHereUpTo: ROOTS_HERE_UP_TO };
    this.#hereSlice = new TurnSlice(opts.hereSliceMs ?? HERE_SLICE_MS);
  }

  /** The mount tables, against which the kernel's mount events are checked (mount_watch.ts). */
  readonly mountWatch: MountWatch;

  /** Routes one kernel event to the paths it concerns. */
  onKernelEvent(raw: FimEvent): void {
    if (this.#stopped) return;
    if (raw.op === FimOp.Mount) return this.mountWatch.onMount(raw);
    if (raw.dev === 0 && raw.dirIno === 0n && NAME_OPS.has(raw.op)) return this.#onUnplaced(raw);
    // Look the process up now, while it most likely still exists.
    // (An event made from fanotify was looked up when it was read.)
    const e: AttributedEvent = {
      ...raw,
      details: (raw as AttributedEvent).details ??
        processDetails(raw.tgid, raw.exe, raw.startNs, raw.exeIno),
    };
    if (
      e.op === FimOp.Write || e.op === FimOp.Truncate || e.op === FimOp.Attrib ||
      e.op === FimOp.MmapWrite || e.op === FimOp.Xattr
    ) {
      const id = { dev: e.dev, ino: e.ino };
      const paths = this.watch.pathsOfInode(id);
      if (paths.length === 0) this.opts.rearm(id); // stale kernel entry
      for (const p of paths) {
        // fanotify names the inode by file handle (with its generation) and the process that
        // changed that very inode, so its event on the old inode is the replacement's own.
        if (e.via !== "fanotify" && namesOtherInode(p, id)) {
          this.#staleLater(p);
          continue;
        }
        if (e.op === FimOp.MmapWrite) this.#trackMapping(p, e);
        this.schedule(p, e, "live");
      }
      return;
    }
    if (!NAME_OPS.has(e.op) || !e.name) return;
    // An entry event names its directory by inode: exact, never by basename.
    const dirPaths = this.watch.keys.dirPathsOf({ dev: e.dev, ino: e.dirIno });
    // A directory made since the last listing, under a tree watch (the kernel
    // found its tree-watched ancestor), or one that got the number of a watched directory
    // gone before the event: keep the event until a listing finds it.
    const left = dirPaths.filter((d) => this.#leftBefore(d, e));
    if (left.length === dirPaths.length && !e.name.includes("/")) this.#keepOrphan(e);
    for (const dirPath of dirPaths) {
      // The directory's inode left this path before the event: its number may be another
      // directory's now (ext4 and tmpfs reuse freed numbers at once), never this path's.
      if (left.includes(dirPath)) continue;
      if (e.name.includes("/")) {
        this.#onTreeEntry(dirPath, e);
        continue;
      }
      const child = childPath(dirPath, e.name);
      this.#remember(child, e);
      const entry = this.watch.get(child);
      if (entry?.kind === "dir" && (e.op === FimOp.Unlink || e.op === FimOp.Rename)) {
        this.#noteDeparted(entry, e);
      }
      const dir = this.watch.get(dirPath);
      const dirWatched = dir?.kind === "dir" && !dir.shallow;
      // Whether a directory inside the tree still exists, or moved, is for its
      // parent's listing to say (a rename is then one move, not a deletion).
      if (entry && !(entry.kind === "dir" && dirWatched)) this.schedule(child, e, "live");
      if (dirWatched) this.markDirty(dirPath, e, "live");
      // A directory above watched paths, renamed, removed or made: they may name other
      // inodes now, or none.
      if (!dirWatched && !entry && !SAME_PLACE_OPS.has(e.op) && this.watch.keys.has(child)) {
        this.#ancestorChanged(child, e);
      }
    }
  }

  /** Watched directories whose inode left their path lately (departed_dirs.ts). */
  readonly #departed = new DepartedDirs();

  /**
   * Watched directory `entry`'s name was removed or renamed (kernel event `e`): when its path
   * no longer names the inode last read there, entry events on that inode from then on are
   * not the path's. A path that still names it (the event was about a successor that is gone
   * again, or came late) changes nothing.
   */
  #noteDeparted(entry: WatchEntry, e: FimEvent): void {
    const id = entry.id;
    if (!id || !namesOtherInode(entry.path, id)) return;
    this.#departed.note(entry.path, id, e.tsNs);
  }

  /**
   * Whether entry event `e` came after its directory's inode left `dirPath`, which does not
   * name it now either (a directory renamed away and back is its path's again).
   */
  #leftBefore(dirPath: string, e: FimEvent): boolean {
    const dir = { dev: e.dev, ino: e.dirIno };
    if (!this.#departed.after(dirPath, dir, e.tsNs)) return false;
    if (namesOtherInode(dirPath, dir)) return true;
    this.#departed.forget(dirPath, dir);
    return false;
  }

  /**
   * Directory `path`, above watched paths, was renamed, removed, made or changed (the kernel
   * watches every ancestor's name): what each path below it names depends on it. The
   * directories at and below it that are not watched themselves are placed for the kernel
   * again (at their new inodes), and
   * every watched path below it that now names another inode, or other stamps, is re-read,
   * naming the process (`mv etc etc.old` deletes `etc/passwd`; `mkdir etc && cp … etc/`
   * creates it again, watched at once).
   */
  #ancestorChanged(path: string, e: FimEvent | undefined, unattributed?: string): void {
    this.ancestorChanges++;
    if (this.#ancestorAt.size >= 1024) {
      for (const p of this.#ancestorAt.keys()) {
        if (!this.watch.keys.has(p)) this.#ancestorAt.delete(p);
      }
    }
    this.#ancestorAt.set(path, performance.now());
    const below = (p: string) => p === path || p.startsWith(path === "/" ? "/" : `${path}/`);
    // Watched directories below it are placed anew by their own re-reads (see #process).
    this.watch.keys.refresh(this.watch.keys.dirs().filter((d) => below(d) && !this.watch.get(d)));
    for (const entry of this.watch.entries()) {
      if (below(entry.path) && !sameStamps(entry, entry.path)) {
        this.schedule(entry.path, e, "live", unattributed);
      }
    }
  }

  /**
   * Directory `path` above watched paths was renamed, removed or made by a
   * process nobody named (fanotify's event without a pid): its paths are
   * looked up again as for a kernel event about it, `unattributed` saying why
   * no process is named. Nothing when `path` is above no watched path now.
   */
  ancestorChangedUnseen(path: string, unattributed: string): void {
    if (this.#stopped || !this.watch.keys.has(path) || this.watch.get(path)) return;
    this.#ancestorChanged(path, undefined, unattributed);
  }

  /**
   * Whether the paths below ancestor `path` were looked up again (an event
   * about its name) at or after `t` (performance.now()).
   */
  ancestorCheckedSince(path: string, t: number): boolean {
    return (this.#ancestorAt.get(path) ?? -Infinity) >= t;
  }

  /**
   * When each ancestor's paths were last looked up again, for ancestorCheckedSince(); kept
   * for the directories above watched paths only (pruned as it grows).
   */
  readonly #ancestorAt = new Map<string, number>();

  /** Name events on a directory above watched paths (their paths were looked up again). */
  ancestorChanges = 0;

  /**
   * The kernel placed an entry on tree-watched directory `dirPath` through
   * subdirectories it did not know yet (the name is "b/c/name"): list the
   * deepest of them known here, and keep the event for the path, so the
   * listings that find it name the process.
   */
  #onTreeEntry(dirPath: string, e: AttributedEvent): void {
    const parts = treeComponents(e.name!);
    if (!parts) return;
    const base = dirPath === "/" ? "" : dirPath;
    const path = `${base}/${parts.join("/")}`;
    let deepest = dirPath;
    for (let i = 1; i < parts.length; i++) {
      const sub = `${base}/${parts.slice(0, i).join("/")}`;
      const d = this.watch.get(sub);
      if (!d || d.kind !== "dir" || d.shallow) break;
      deepest = sub;
    }
    // One event, named as its directory's entry, wherever it is kept (a report claims it).
    const placed = { ...e, name: basename(path) };
    this.#remember(path, placed);
    const entry = this.watch.get(path);
    const dir = this.watch.get(deepest);
    const inDeepest = parentPath(path) === deepest;
    const direct = inDeepest && dir?.kind === "dir" && !dir.shallow;
    if (entry && inDeepest && entry.kind !== "dir") this.schedule(path, placed, "live");
    if (!direct) this.#keepPlaced(parentPath(path), placed);
    if (dir?.kind === "dir" && !dir.shallow) {
      this.markDirty(deepest, direct ? placed : undefined, "live");
    }
  }

  /**
   * Events the kernel placed on a tree-watched ancestor for the entries of a
   * directory no listing found yet, by that directory's path (insertion order
   * = age): its listing takes them as its names' events (#adoptPlaced).
   */
  readonly #placed = new AgedMap<string, { at: number; events: FimEvent[] }>(RECENT_MAX);

  #keepPlaced(dir: string, e: FimEvent): void {
    const now = performance.now();
    const r = touch(this.#placed, dir, now, () => ({ at: now, events: [] as FimEvent[] }));
    r.events.push(e);
    if (r.events.length > ORPHAN_EVENTS) r.events.shift();
    this.#placed.dropOldest((x) => this.#kept(x.at, now), now);
  }

  /**
   * A listing found directory `path`: what the kernel said by path of its
   * entries before then are its names' events, as if they had come after it
   * was watched (a file made and removed in `sub/deeper` before either was
   * listed is reported made and gone by its process; it was not reported at
   * all). A path says where, whatever the inode: no time bound is needed.
   */
  #adoptPlaced(path: string, reason: ChangeReason): void {
    const r = this.#placed.get(path);
    if (!r) return;
    this.#placed.delete(path);
    if (!this.#kept(r.at, performance.now())) return;
    for (const e of r.events) this.markDirty(path, e, reason);
  }

  readonly #rearmTimers = new Set<ReturnType<typeof setTimeout>>();

  /**
   * Re-arms a coalesced kernel key after `ms` (unplaced paths, mounts): at
   * most one event per period. What the kernel folded into the pending key
   * meanwhile is covered by checking once more right after re-arming.
   */
  #rearmLater(id: InodeId, ms: number, recheck: () => void): void {
    const t = setTimeout(() => {
      this.#rearmTimers.delete(t);
      if (this.#stopped) return;
      this.opts.rearm(id);
      recheck();
    }, ms);
    this.#rearmTimers.add(t);
  }

  /**
   * A BPF event came for the inode `path` was known by, but the path now
   * names another inode or nothing: it was replaced or removed in a way the
   * hooks did not name (a path swapped after the kernel copied it), and the
   * event's own inode is the old file or a new file that got its number. Its
   * process did not change `path`: never credit it. Check the path once the
   * kernel's own file event (fanotify) has had its grace to name the process,
   * then re-read it unattributed if nothing has since.
   */
  #staleLater(path: string): void {
    const t = setTimeout(() => {
      this.#rearmTimers.delete(t);
      if (this.#stopped) return;
      const entry = this.watch.get(path);
      if (entry && !sameStamps(entry, path)) {
        this.schedule(path, undefined, "live", STALE_INODE);
      }
    }, STALE_WAIT_MS);
    this.#rearmTimers.add(t);
  }

  /**
   * A path-based change the kernel could not place on a directory (a ".."
   * on the way, a symlinked directory, a path too long), with a watched
   * basename. The kernel says nothing exact about it, so no process is
   * named: check the candidates by inode and ns timestamps, and re-read only
   * those that changed.
   */
  #onUnplaced(e: FimEvent): void {
    this.#rearmLater(
      { dev: FIM_DEV_UNPLACED, ino: e.ino },
      UNPLACED_REARM_MS,
      () => this.#checkUnplaced(e),
    );
    this.#checkUnplaced(e);
  }

  #checkUnplaced(e: FimEvent): void {
    const why = "the kernel could not place the path on a directory (.., symlink or long path)";
    const candidates = e.name
      ? this.watch.pathsNamed(e.name)
      : this.watch.entries().map((x) => x.path);
    const dirs = new Set<string>();
    for (const p of candidates) {
      const entry = this.watch.get(p);
      if (!entry) continue;
      if (!sameStamps(entry, p)) this.schedule(p, undefined, "live", why);
      const parent = this.watch.inWatchedDir(p);
      if (parent) dirs.add(parent.path);
    }
    for (const d of dirs) {
      if (!sameStamps(this.watch.get(d), d)) this.markDirty(d, undefined, "live", why);
    }
  }

  /** Lists watched directory `dir` again soon (with the others marked meanwhile). */
  markDirty(
    dir: string,
    cause: FimEvent | undefined,
    reason: ChangeReason,
    unattributed?: string,
  ): void {
    if (this.#stopped) return;
    let d = this.#dirtyDirs.get(dir);
    if (!d) {
      const names = new NameHistories(
        writerKey,
        (name) => this.#matters(dir, childPath(dir, name)),
      );
      d = { names, reason, unattributed, root: this.watch.get(dir)?.root };
      this.#dirtyDirs.set(dir, d);
    }
    if (cause?.name && NAME_OPS.has(cause.op)) d.names.note(cause);
    if (this.#syncTimer === undefined && !this.#syncing) {
      this.#syncTimer = this.#clock.after(this.#settleMs, () => this.#startSync());
    }
  }

  /**
   * Whether watched directory `from` can have moved to a name with history
   * `to` that a listing found at its inode number: not when the kernel said
   * the name was made by mkdir and never renamed to, or that `from` was
   * removed by rmdir since it was last renamed to (ext4 and tmpfs reuse a
   * freed number at once: `rsync --delete` removes `old` and makes `new`,
   * which was reported as `old` moved, its files deleted and made by no
   * one). With no event for either (dropped), it may have.
   */
  #mayHaveMoved(from: string, to: NameHistory | undefined): boolean {
    const renamedTo = to?.causes.some((c) => c.op === FimOp.Rename);
    if (to?.made && madeKind(to.made) === "dir" && !renamedTo) return false;
    const gone = this.#recentOf(from).findLast((e) => REMOVES_OPS.has(e.op));
    return gone === undefined || gone.op === FimOp.Rename;
  }

  /** Directories whose listing failed, listed again until one succeeds (#listLater). */
  readonly #unlisted = new Set<string>();

  /**
   * The listing of `dir` failed (out of file descriptors or memory: a root
   * `prlimit --nofile` on the agent does it): the directory stays dirty, with
   * the events that named its entries, and is listed again in
   * LIST_RETRY_MS, until a listing succeeds. Dropped, what was made in it
   * meanwhile went unreported until the reconcile, minutes later.
   */
  #listLater(dir: string, why: DirtyDir, e: unknown): void {
    if (!this.#unlisted.has(dir)) {
      this.#unlisted.add(dir);
      this.opts.warn(
        `directory sync: ${errorMessage(e)}; ${dir} is listed again every ${LIST_RETRY_MS} ms ` +
          `until it can be (said once)`,
      );
    }
    this.#clock.after(LIST_RETRY_MS, () => {
      const d = this.#dirtyDirs.get(dir);
      if (!d) this.#dirtyDirs.set(dir, why);
      else {
        d.names.merge(why.names);
      }
      if (this.#syncTimer === undefined && !this.#syncing) {
        this.#syncTimer = this.#clock.after(this.#settleMs, () => this.#startSync());
      }
    });
  }

  #startSync(): void {
    this.#syncTimer = undefined;
    this.#syncStarted = performance.now();
    this.#syncing = this.#syncDirs()
      .catch((e) => this.opts.warn(`directory sync: ${errorMessage(e)}`))
      .finally(() => {
        this.#syncing = undefined;
        this.#syncedFrom = this.#syncStarted!;
        this.#syncStarted = undefined;
        if (this.#stopped) return;
        if (this.#dirtyDirs.size) this.#startSync();
        else if (this.#isIdle()) this.#wakeIdle();
      });
  }

  /**
   * Lists every dirty directory and reports what the tree gained and lost:
   * new entries as created (with the event that made them), renamed
   * directories as moved, vanished names re-read (deleted or replaced). A new
   * directory under a recursive watch is put in the kernel's map first and
   * listed after, so nothing created in it in between is missed.
   */
  async #syncDirs(): Promise<void> {
    const changed = new Map<string, { why: DirtyDir; held: () => Promise<FimEvent[]> }>();
    /** Each listed directory's names the kernel named, and which of them were watched before. */
    const listed: Listed[] = [];
    while (this.#dirtyDirs.size) {
      const [dir, why] = this.#dirtyDirs.entries().next().value!;
      this.#dirtyDirs.delete(dir);
      const entry = this.watch.get(dir);
      if (!entry) {
        // Gone from the tree before its listing (removed with what was in it): what the
        // kernel said was made in it is still reported.
        if (why.root) listed.push({ dir: { path: dir, root: why.root }, why, knew: new Set() });
        continue;
      }
      entry.lookedAt = performance.now();
      const knew = new Set<string>();
      for (const [name] of why.names.entries()) {
        if (this.watch.get(childPath(dir, name))) knew.add(name);
      }
      let diff;
      try {
        diff = this.watch.syncDir(
          dir,
          (p, isDir) => this.opts.admits?.(entry, p, isDir) !== false,
          (from, to) => this.#mayHaveMoved(from, why.names.get(basename(to))),
        );
      } catch (e) {
        this.#listLater(dir, why, e);
        continue;
      }
      this.#unlisted.delete(dir);
      if (!diff) continue;
      listed.push({ dir: entry, why, knew });
      const causesOf = (path: string) => why.names.get(basename(path))?.causes ?? [];
      // The event that put the entry at its name (made, moved or linked it there).
      const causeOf = (path: string) => pickCause("created", causesOf(path));
      const unattributed = why.unattributed ?? LISTED;
      // For entries no event named: the processes the kernel kept for this directory's
      // dropped entry events, asked once per listing (none unless it dropped some).
      let heldHere: FimEvent[] | undefined;
      const held = async (): Promise<FimEvent[]> => {
        if (heldHere === undefined) {
          const asked = entry.id ? this.opts.heldFor?.(entry.id) : undefined;
          heldHere = asked ? await asked : [];
        }
        return heldHere;
      };
      for (const m of diff.moved) {
        const e = this.watch.get(m.to);
        const id = e?.id;
        if (id) this.#adoptOrphans(m.to, id, why.reason);
        this.#adoptPlaced(m.to, why.reason);
        const cause = causeOf(m.to);
        this.opts.emit({
          action: "moved",
          path: m.to,
          fromPath: m.from,
          kind: "dir",
          root: e?.root ?? entry.root,
          before: e?.state,
          after: e?.state,
          cause,
          folded: 1,
          reason: why.reason,
          ...(cause ? {} : { unattributed }),
        });
        // Anything that changed under the old name while it moved.
        this.markDirty(m.to, undefined, why.reason, LISTED);
      }
      for (const a of diff.added) {
        const added = this.watch.get(a.path);
        if (added?.kind === "dir" && !added.shallow) {
          const st = await readFileState(a.path).catch(() => undefined);
          this.watch.setState(a.path, st);
          if (st) this.#adoptOrphans(a.path, st.id, why.reason, latestMake(causesOf(a.path)));
          this.#adoptPlaced(a.path, why.reason);
          this.#fresh.add(a.path);
          // What is in it already was made before its watch took effect: the kernel
          // named no process for it.
          const maker = causeOf(a.path);
          this.markDirty(
            a.path,
            undefined,
            why.reason,
            maker
              ? `made before its new directory was watched (the directory was made by ${maker.comm} [${maker.tgid}])`
              : why.unattributed ?? "made before its new directory was watched",
          );
        }
        const causes = causesOf(a.path);
        this.#scheduleAll(a.path, causes.length ? causes : await held(), why.reason, unattributed);
      }
      for (const c of diff.changed) changed.set(c, { why, held });
    }
    for (const [p, { why, held }] of changed) {
      if (!this.watch.get(p)) continue; // moved away in this batch
      const named = why.names.get(basename(p))?.causes ?? [];
      const causes = named.length ? named : await held();
      const unattributed = why.unattributed ?? LISTED;
      this.#scheduleAll(p, causes, why.reason, unattributed);
      for (const below of this.watch.subtree(p)) {
        this.#scheduleAll(below, causes, why.reason, unattributed);
      }
    }
    this.#reportUnlisted(listed);
  }

  /**
   * Removals another report of a name found while the report of that name under way waited
   * for its own (#reportUnread), by path.
   */
  readonly #lateRemovals = new Map<string, FimEvent>();

  /** Reports of names gone before any read, under way (they wait for the removal's event). */
  readonly #unread = new Set<Promise<void>>();

  /** Runs `report` beside the listings (it may wait for events), as a re-read runs. */
  #track(report: Promise<void>): void {
    const running = report
      .catch((e) => this.opts.warn(`reporting a file gone before it was read: ${errorMessage(e)}`))
      .finally(() => {
        this.#unread.delete(running);
        this.#inFlight.delete(running);
        if (!this.#stopped && this.#isIdle()) this.#wakeIdle();
      });
    this.#unread.add(running);
    this.#inFlight.add(running);
  }

  /**
   * Names the kernel said were made in the directories just listed that no
   * listing or read saw as made (gone before it, or replaced at the name
   * before it): each is reported made and gone, naming the processes
   * (transient_fold.ts folds a churn). A name whose made file moved to
   * another name a listing found (a temporary file renamed over a watched
   * one, as `sed -i` does) is reported there, not here.
   */
  #reportUnlisted(listed: Listed[]): void {
    for (const { dir, why, knew } of listed) {
      for (const [name, h] of why.names.entries()) {
        if (!h.made || knew.has(name) || name.includes("/")) continue;
        // Made in another directory that got the number of this one's inode after it left.
        if (this.#leftBefore(dir.path, h.made)) continue;
        const path = childPath(dir.path, name);
        // A report of this name carried these events already (its listing found it, and its
        // read found it gone; or an earlier batch of the same events).
        if (this.#allReported(path, [h.made, h.removed])) continue;
        const made = madeInode(h.made);
        let now: bigint | undefined;
        try {
          now = lstat(path)?.ino;
        } catch {
          continue; // cannot tell what is there
        }
        if (now === undefined) {
          if (this.watch.get(path)) continue; // listed, then gone: its own read reports it
          const kind = madeKind(h.made);
          if (this.opts.admits?.(dir, path, kind === "dir") === false) continue;
          this.#track(this.#reportUnread(path, dir, kind, h, why.reason, REMOVED_UNREAD));
        } else if (made !== undefined && now !== made) {
          // Made, then replaced at the name before any read: the listing found its successor.
          if (!this.watch.get(path)) continue; // not admitted, or over its owner's share
          const replaced = { made: h.made };
          this.#track(
            this.#reportUnread(path, dir, "file", replaced, why.reason, REPLACED_UNREAD, true),
          );
        }
      }
      // Names past what one listing keeps by name: counted in the churn summary.
      this.transientNames += why.names.overflow;
      this.#fold.countUnnamed(this.#foldAt(dir, dir.path).at, why.names.overflow);
    }
  }

  /** Names made and gone before any read saw them (itemized or folded). */
  transientNames = 0;

  /** Folds names made and gone faster than they are worth an event each (transient_fold.ts). */
  readonly #fold = new TransientFold((s) => this.#reportChurn(s));

  /**
   * Whether a program reads `path`, in directory `dir`, by its name
   * (FileMonitorOptions.matters), or a rule names `path` itself.
   */
  #matters(dir: string | Pick<WatchEntry, "path" | "root">, path: string): boolean {
    if (this.watch.get(path)?.root === path) return true;
    const d = typeof dir === "string" ? this.watch.get(dir) : dir;
    return d !== undefined && (this.opts.matters?.(d, path) ?? false);
  }

  /** Names found existing whose creation waits for the end of their churn window (#defer). */
  readonly #deferred = new Map<string, { gone: boolean }>();

  /**
   * Whether new entry `path`, found by a listing and read, waits for the end of
   * its maker's churn window before it is reported (TransientFold.defer): then,
   * still there, it is reported created as it is; gone, it is counted in the
   * summary with the names no read found.
   */
  #defer(path: string, entry: WatchEntry, causes: FimEvent[], unattributed?: string): boolean {
    const dir = this.#dirOf(entry);
    const held = { gone: false };
    const settle = (): boolean => {
      this.#deferred.delete(path);
      const now = this.watch.get(path);
      if (held.gone || !now?.state) {
        this.transientNames++;
        return false;
      }
      const made = [...causes];
      this.#track(
        this.#report(
          path,
          entry,
          "created",
          undefined,
          now.state,
          made,
          "live",
          unattributed,
          false,
        ),
      );
      return true;
    };
    const maker = pickCause("created", causes);
    const { at, name } = this.#foldAt(dir, path);
    if (!this.#fold.defer(at, name, maker, this.#matters(dir, path), settle)) {
      return false;
    }
    this.#deferred.set(path, held);
    return true;
  }

  /**
   * The directory `entry` (found by a listing) is in: watched, or gone from
   * the tree with it (removed before `entry` was read).
   */
  #dirOf(entry: WatchEntry): Pick<WatchEntry, "path" | "root"> {
    return this.watch.inWatchedDir(entry.path) ??
      { path: parentPath(entry.path), root: entry.root };
  }

  /**
   * Where `path`, an entry of watched directory `dir` or below it, is folded:
   * under the root of the rule `dir` was found under (one share for a whole
   * tree: a churn spread over many new subdirectories would otherwise have a
   * share in each), by its path from there.
   */
  #foldAt(dir: Pick<WatchEntry, "path" | "root">, path: string): { at: string; name: string } {
    for (const at of [dir.root, dir.path]) {
      const prefix = at === "/" ? "/" : `${at}/`;
      if (path.startsWith(prefix)) return { at, name: path.slice(prefix.length) };
    }
    return { at: dir.path, name: basename(path) };
  }

  /**
   * Whether `path`, made (by `made`) in `dir` or below it and gone before any
   * read, is reported by itself.
   */
  #itemize(dir: Pick<WatchEntry, "path" | "root">, path: string, made?: FimEvent): boolean {
    const { at, name } = this.#foldAt(dir, path);
    return this.#fold.itemize(at, name, made, this.#matters(dir, path));
  }

  /**
   * Reports `path`, made (by `h.made`) and gone before any read saw it: made,
   * with nothing known of it but that (`why`), then deleted by whatever
   * removed it, unless `replacedOnly` (another file is at the name now, and
   * its own read reports it). Folded into its directory's churn summary
   * instead past the itemized share of its maker's user.
   */
  async #reportUnread(
    path: string,
    dir: Pick<WatchEntry, "path" | "root">,
    kind: "file" | "dir",
    h: Pick<NameHistory, "made" | "removed">,
    reason: ChangeReason,
    why: string,
    replacedOnly = false,
  ): Promise<void> {
    // Reported already, or under way, by what else came to the same file: the directory's
    // report and the name's own read each find a name made and gone in a directory made and
    // gone, one of them maybe before its removal's event came.
    // So is a name whose removal was reported, and that nothing made again since (a second
    // listing's history can start at a later event of the same file: the link(2) of it).
    const first = h.made ?? h.removed;
    const ended = h.removed && this.#reportedFor(h.removed, path) && !precedes(h.removed, h.made);
    if (ended) return;
    if (first && this.#reportedFor(first, path)) {
      // The one under way may not have its removal yet (its event came where that report
      // did not look: kept for a directory no listing had found).
      if (h.removed && !this.#reportedFor(h.removed, path)) {
        this.#lateRemovals.set(path, h.removed);
        // Bounded: one whose report had ended already is never taken.
        if (this.#lateRemovals.size > RECENT_MAX) {
          this.#lateRemovals.delete(this.#lateRemovals.keys().next().value!);
        }
      }
      return;
    }
    // Claimed now: a later listing of the same events does not report the name again.
    this.#claim(h.made, path);
    this.#claim(h.removed, path);
    // One rename that both made and removed the name: it either moved a file in (and its
    // removal is still to come) or moved one away that was there before (made earlier, and
    // reported with that).
    const lone = h.made !== undefined && h.made === h.removed;
    let made = h.made;
    let removed = lone ? undefined : h.removed;
    if (!replacedOnly && (!removed || !made) && reason === "live" && !this.#stopped) {
      // The removal's event may still be on its way (the listing or the read came first):
      // it says who removed the file, and whether it was renamed to a watched name. So may
      // the event that made it (a listing can find a file before its creation is read).
      const look = () => {
        removed ??= this.#removalOf(path, made) ?? this.#lateRemovals.get(path);
        made ??= this.#makerOf(path, removed);
      };
      this.#drainOnce();
      look();
      if (!removed || !made) {
        await new Promise((r) => setTimeout(r, EVENT_GRACE_MS));
        look();
      }
      this.#lateRemovals.delete(path);
      this.#claim(removed, path);
      this.#claim(made, path);
    }
    if (lone && !removed) return;
    // Renamed to a watched name, where it is now: that name's own report shows it.
    if (this.#movedOn(path, made, removed)) return;
    this.transientNames++;
    // What the kernel said was made in it, if it was a directory: each made and gone with it.
    const inside = kind === "dir" && !replacedOnly ? this.#madeInside(path, made, removed) : [];
    const reportInside = async () => {
      await Promise.all(
        inside.map(([p, e]) => this.#reportUnread(p, dir, madeKind(e.made), e, reason, why)),
      );
    };
    if (this.#stopped || !this.#itemize(dir, path, made)) return await reportInside();
    const entry = { kind, root: dir.root };
    const makers = made ? [made] : [];
    await this.#report(
      path,
      entry,
      "created",
      undefined,
      undefined,
      makers,
      reason,
      makers.length ? undefined : LISTED,
      false,
      why,
    );
    await reportInside();
    if (replacedOnly || this.#stopped) return;
    await this.#report(
      path,
      entry,
      "deleted",
      undefined,
      undefined,
      removed ? [removed] : [],
      reason,
      removed ? undefined : "its removal's event was not seen",
      false,
      why,
    );
  }

  /**
   * The entries the kernel said were made directly in directory `path`, made
   * (by `made`) and gone (by `removed`) before any listing found it, with the
   * events that made and removed each. The kernel places a path-based
   * operation below a directory it does not know on the tree-watched
   * directory above it (`sub/f`, remembered for that path); an open(O_CREAT)
   * it names by the new directory's inode, which no event of the directory
   * itself carries, so those are kept by inode (#orphans): a group of them is
   * this directory's when all of it came within the directory's life and it
   * shares a name with a path-placed entry of it, or was all made and removed
   * then by the process that made the directory. Nothing is said when the
   * events that made and removed the directory are not both known.
   */
  #madeInside(
    path: string,
    made: FimEvent | undefined,
    removed: FimEvent | undefined,
  ): [string, Pick<NameHistory, "made" | "removed">][] {
    const prefix = path === "/" ? "/" : `${path}/`;
    const found = new Map<string, Pick<NameHistory, "made" | "removed">>();
    const note = (name: string, e: FimEvent) => {
      const h = found.get(name) ?? {};
      if (MAKES_OPS.has(e.op) && (!h.made || e.tsNs < h.made.tsNs)) h.made = e;
      if (REMOVES_OPS.has(e.op) && e !== h.made) h.removed = e;
      found.set(name, h);
    };
    // Only what came within the directory's life: an event named by a directory inode may be
    // another directory's that had the number before or after (a number reused), and no event
    // at all bounds when it was made if when the directory was is not known.
    if (made === undefined || removed === undefined) return [];
    const within = (e: FimEvent) => e.tsNs >= made.tsNs && e.tsNs <= removed.tsNs;
    const now = performance.now();
    for (const [p, r] of this.#recent) {
      if (!p.startsWith(prefix) || !this.#kept(r.at, now)) continue;
      const name = p.slice(prefix.length);
      if (name === "" || name.includes("/")) continue;
      for (const e of r.events) if (!this.#adopted.has(e) && within(e)) note(name, e);
    }
    for (const o of this.#orphans.values()) {
      const mine = o.events.filter(within);
      if (mine.length === 0) continue;
      // Emptied, as a removed directory was (the last event of each name took it away): not
      // another new directory of the same process.
      const last = new Map(mine.map((e) => [e.name!, e]));
      const emptied = [...last.values()].every((e) => REMOVES_OPS.has(e.op));
      const sameMaker = emptied &&
        mine.every((e) => e.tgid === made.tgid && e.startNs === made.startNs);
      if (!sameMaker && !mine.some((e) => found.has(e.name!))) continue;
      o.events = o.events.filter((e) => !within(e));
      for (const e of mine) note(e.name!, e);
    }
    return [...found].map(([name, h]) => [`${prefix}${name}`, h]);
  }

  /**
   * The event remembered that put an inode at `path` first (firstMaker), not after `removed`
   * (when given) and other than it.
   */
  #makerOf(path: string, removed: FimEvent | undefined): FimEvent | undefined {
    return firstMaker(this.#recentOf(path).filter((e) => e !== removed && !precedes(removed, e)));
  }

  /** The latest event that took `path` away, other than `made`, if one is remembered. */
  #removalOf(path: string, made: FimEvent | undefined): FimEvent | undefined {
    return this.#recentOf(path).findLast((e) =>
      e !== made && REMOVES_OPS.has(e.op) && !precedes(e, made)
    );
  }

  /** Reports the names folded for one directory and user over a window. */
  #reportChurn(s: ChurnSummary): void {
    const dir = this.watch.get(s.dir);
    const [cause, ...others] = s.makers;
    const by = s.uid >= 0 ? `by uid ${s.uid}` : "by processes the kernel did not name";
    this.opts.emit({
      action: "churned",
      path: s.dir,
      kind: "dir",
      root: dir?.root ?? s.dir,
      cause,
      ...(others.length ? { otherWriters: others } : {}),
      folded: s.names,
      reason: "live",
      ...(cause ? {} : { unattributed: "the names' events named no process" }),
      notRead: `${s.names} names made and gone before they could be read ${by}, ` +
        `past the ${ITEMIZED_PER_WINDOW} reported one by one per ${WINDOW_MS / 1000} s`,
      churn: { names: s.names, distinct: s.distinct, readByName: s.readByName, sample: s.sample },
    });
  }

  /** Schedules a re-read of `path` for each of `causes` (or for none). */
  #scheduleAll(
    path: string,
    causes: readonly FimEvent[],
    reason: ChangeReason,
    unattributed?: string,
  ): void {
    if (causes.length === 0) return this.schedule(path, undefined, reason, unattributed);
    for (const c of causes) this.schedule(path, c, reason, unattributed);
  }

  /**
   * Writes through a shared mapping need no syscall: while the mapping process
   * lives, re-read the file on a timer, and once more after it exits.
   */
  #trackMapping(path: string, e: FimEvent): void {
    let procs = this.#mapped.get(path);
    if (!procs) {
      procs = new Map();
      this.#mapped.set(path, procs);
    }
    procs.set(e.tgid, e);
    this.#mappedTimer ??= setInterval(() => this.#pollMapped(), this.opts.mappedPollMs ?? 200);
  }

  #pollMapped(): void {
    for (const [path, procs] of this.#mapped) {
      for (const [tgid, e] of procs) {
        let alive = true;
        try {
          Deno.statSync(`/proc/${tgid}`);
        } catch {
          alive = false;
        }
        if (!alive) procs.delete(tgid);
        this.#polled.add(e);
        this.schedule(path, e, "live");
        // The mapping may live on in a child forked after the mmap: follow it there, and
        // name the process that holds it now (the one that made it is gone).
        if (!alive && procs.size === 0) {
          const id = { dev: e.dev, ino: e.ino };
          for (const pid of mappingHolders(id)) procs.set(pid, eventFromProc(pid, id, e.op));
        }
      }
      if (procs.size === 0) this.#mapped.delete(path);
    }
    if (this.#mapped.size === 0 && this.#mappedTimer !== undefined) {
      clearInterval(this.#mappedTimer);
      this.#mappedTimer = undefined;
    }
  }

  /** The wait before a re-read of a path `hot` re-reads in a row found changed again. */
  #hotSettle(hot: number): number {
    return hot
      ? Math.min(HOT_SETTLE_MAX_MS, this.#settleMs * 2 ** Math.min(hot, 16))
      : this.#settleMs;
  }

  /** Remembers (up to HOT_SETTLE_MAX_MS) that `path`'s queue just ended this hot. */
  #cool(path: string, hot: number): void {
    const now = performance.now();
    // Kept in the order of their times, so the expired ones are the first: a walk over every
    // entry at each call cost a mass change of 100,000 files 14 s of blocked event loop.
    this.#cooling.delete(path);
    this.#cooling.set(path, { hot, at: now });
    for (const [p, c] of this.#cooling) {
      if (now - c.at < HOT_SETTLE_MAX_MS) break;
      this.#cooling.delete(p);
    }
  }

  /** Queues a re-read of `path`. */
  schedule(
    path: string,
    cause: FimEvent | undefined,
    reason: ChangeReason,
    unattributed?: string,
  ): void {
    if (this.#stopped) return;
    let q = this.#queues.get(path);
    if (!q) {
      const c = this.#cooling.get(path);
      this.#cooling.delete(path);
      // Changed again sooner than its last wait: as hot as if it had changed during the read.
      const hot = c && performance.now() - c.at < this.#hotSettle(c.hot) ? c.hot + 1 : 0;
      q = { dirty: false, causes: [], reason, hot };
      this.#queues.set(path, q);
    }
    cause ??= this.#recentCause(path);
    // A mount's event names no process for a change it did not make (pickCause): then why not.
    if (unattributed && (!cause || cause.op === FimOp.Mount)) q.unattributed = unattributed;
    if (cause && q.causes.length < MAX_CAUSES) q.causes.push(cause);
    // Waiting among bulk re-reads, now asked for by an event: it waits with the events' too.
    if (q.waiting && q.bulk && !isBulk(q)) {
      q.bulk = false;
      this.#waiting[q.lane ?? 0].live.push(this.#ownerOf(path), path);
      return this.#runWaiting(q.lane ?? 0);
    }
    if (q.running) {
      q.dirty = true;
      return;
    }
    if (q.timer !== undefined || q.soon || q.waiting) return;
    // A rename is whole when the kernel reports it (at the syscall's exit): the
    // path already names the new version, written and closed beside it. Nothing
    // to wait for, as after a writer's close.
    if (cause?.op === FimOp.Rename && !q.hot) return this.#runSoon(path, q);
    const closedAt = this.#closed.get(path);
    if (closedAt !== undefined) {
      this.#closed.delete(path);
      if (cause && !q.hot && performance.now() - closedAt <= CLOSE_AHEAD_MS) {
        return this.#runSoon(path, q);
      }
    }
    // Found by listing with no event yet: the event may still be in the ring buffer.
    const settle = this.#hotSettle(q.hot);
    const wait = q.causes.length ? settle : Math.max(settle, EVENT_GRACE_MS);
    q.timer = this.#clock.after(wait, () => this.#run(path));
  }

  #run(path: string): void {
    const q = this.#queues.get(path);
    if (!q) return;
    q.timer = undefined;
    q.soon = false;
    let lane = q.lane ?? 0;
    if (!q.waiting) {
      const owner = this.#ownerOf(path);
      lane = q.lane = owner === 0 ? 1 : 0;
      const bulk = isBulk(q);
      if (this.#laneBusy[lane] >= laneRoom(lane, bulk)) {
        q.waiting = true;
        q.bulk = bulk;
        this.#waiting[lane][bulk ? "bulk" : "live"].push(owner, path);
        return;
      }
    }
    q.waiting = false;
    q.bulk = false;
    // Root's small file is read on this thread by the lane's only re-read, if not bulk work,
    // and by root's lane while the turn's slice lasts.
    const w = this.#waiting[lane];
    const here = (this.#laneBusy[lane] === 0 && w.live.size === 0 && w.bulk.size === 0 &&
      !isBulk(q)) || (lane === 1 && this.#hereSlice.room());
    this.#laneBusy[lane]++;
    const causes = q.causes.splice(0);
    if (causes.length === 0) {
      const late = this.#recentCause(path);
      if (late) causes.push(late);
    }
    const reason = q.reason;
    const unattributed = q.unattributed;
    q.unattributed = undefined;
    q.held = false;
    const readAt = performance.now();
    // Running from here: a root file read on this thread (ROOTS_HERE_UP_TO) is read, and may
    // be reported, before #process returns, and an event drained meanwhile is for after it.
    q.running = STARTED;
    const running = this.#process(path, causes, reason, unattributed, here)
      .catch((e) => this.opts.warn(`${path}: ${errorMessage(e)}`))
      .finally(() => {
        q.running = undefined;
        this.#inFlight.delete(running);
        this.#laneBusy[lane]--;
        if (this.#stopped) return;
        this.#runWaiting(lane);
        if (q.dirty || q.causes.length) {
          q.dirty = false;
          const settle = this.#hotSettle(++q.hot);
          // Changed while it was read and not closed since: a writer holds it open.
          q.held = !q.heldOnce && (q.closedAt ?? -Infinity) < readAt &&
            !!this.opts.closesReported?.(path);
          q.timer = this.#clock.after(
            q.held ? Math.max(settle, heldWait()) : settle,
            () => this.#run(path),
          );
        } else {
          this.#queues.delete(path);
          this.#cool(path, q.hot);
          if (this.#isIdle()) this.#wakeIdle();
        }
      });
    q.running = running;
    this.#inFlight.add(running);
  }

  /**
   * The owner (uid) of `path` as last read, lstat for a path not read yet (-1
   * when it cannot tell). Root's paths are read in the priority lane, and
   * owners take turns in each lane. Not by name: a user may call a file of
   * theirs passwd, but cannot give it to root.
   */
  #ownerOf(path: string): number {
    const known = this.watch.get(path)?.state;
    if (known) return known.uid;
    try {
      return lstat(path)?.uid ?? -1;
    } catch {
      return -1;
    }
  }

  /**
   * Starts the re-reads that wait in `lane` while there is room: events' first, then bulk ones,
   * owners in turn in each.
   */
  #runWaiting(lane: 0 | 1): void {
    for (const bulk of [false, true]) {
      const w = this.#waiting[lane][bulk ? "bulk" : "live"];
      while (this.#laneBusy[lane] < laneRoom(lane, bulk)) {
        const path = w.shift();
        if (path === undefined) break;
        if (this.#queues.get(path)?.waiting) this.#run(path);
      }
    }
  }

  async #process(
    path: string,
    causesIn: FimEvent[],
    reason: ChangeReason,
    unattributed: string | undefined,
    here: boolean,
  ): Promise<void> {
    let causes = causesIn;
    const entry = this.watch.get(path);
    if (!entry) {
      this.#fresh.delete(path);
      return;
    }
    if (entry.awaitingBaseline) {
      // The first baseline has not read it yet: compare against that read, never
      // against nothing (which would say "created" for a file that existed).
      const held = this.#held.get(path) ?? [];
      held.push(...causes);
      this.#held.set(path, held);
      return;
    }
    const lookedAt = entry.lookedAt = performance.now();
    const offered = this.#offered.get(path);
    if (offered && offered.at <= lookedAt) {
      this.#offered.delete(path);
      if (!causes.some((c) => c.via !== "fanotify")) causes = [...causes, offered.e];
    }
    const fresh = this.#fresh.delete(path);
    const before = fresh ? undefined : entry.state;
    const id = entry.id;
    if (id) this.opts.rearm(id);
    let after: FileState | undefined;
    let wasDir = false;
    /** What a first read saw of a new inode that a second read found gone. */
    let seen: FileState | undefined;
    const keep = this.opts.keepContentUpTo ?? 0;
    const budget = here ? this.#hereBudget : this.#budget;
    // When the read that `after` (then `seen`) is from began, and the one `before` is from.
    const sinceNs = before ? entry.readNs : undefined;
    let readNs = monotonicNs();
    let seenNs = readNs;
    try {
      const first = readFileStateSoon(path, keep, budget, false);
      after = first instanceof Promise ? await first : first;
      // Read here only when it came at once (a file only root can write, on a local file system).
      if (here && !(first instanceof Promise) && after?.type === "file") this.readHere++;
      // The path is watched as what it is now: a directory made where a file or nothing was is
      // listed, a file where a directory was has its writes reported (its kernel flags and
      // fanotify marks follow, set with its new inode below).
      if (after) {
        wasDir = this.watch.retype(path, after.type === "dir" ? "dir" : "file") &&
          after.type !== "dir";
      }
      // A new inode (replaced, created) enters the kernel map only now: read it
      // once more under watch, so a write that raced the first read is in the
      // second one or sends an event.
      if (after && (!before || !sameFile(before, after))) {
        this.watch.setState(path, after);
        [seenNs, readNs] = [readNs, monotonicNs()];
        const second = readFileStateSoon(path, keep, budget, false);
        const again = second instanceof Promise ? await second : second;
        // Gone between the two reads (a file made and removed at once, one that grew
        // until it was removed): it existed, and is reported as made, then removed.
        if (!again) seen = after;
        after = again;
      }
      // Extended attributes and inode flags are read only when they may have changed.
      if (after) {
        after.attrs = attrsMayHaveChanged(before, after, causes, reason)
          ? readAttrs(path)
          : before!.attrs;
      }
    } catch (e) {
      if (e instanceof ReadAbortedError) return;
      this.opts.warn(
        `cannot read ${path}: ${errorMessage(e)}; keeping the last known state`,
      );
      return;
    }
    for (const s of [seen, after]) {
      if (!s?.readError) continue;
      this.notReadWhole++;
      if (s.readError.includes("-byte limit")) this.notHashedLarge++;
    }
    if (seen) {
      this.goneAfterFirstRead++;
      // A new name a listing found, gone before its second read: made and gone like those no
      // listing found, and folded with them past its maker's share (a churn the listings
      // catch one name at a time would otherwise be one report a name).
      const dir = !before && entry.path !== entry.root ? this.#dirOf(entry) : undefined;
      if (dir && !this.#itemize(dir, path, pickCause("created", causes))) {
        this.transientNames++;
        for (const c of causes) this.#claim(c, path);
        for (const below of this.watch.subtree(path)) this.schedule(below, undefined, reason);
        this.watch.remove(path);
        return;
      }
      const made = classify(entry.kind, before, seen);
      if (made) {
        this.watch.setState(path, seen);
        entry.readNs = seenNs;
        await this.#report(
          path,
          entry,
          made,
          before,
          seen,
          causes,
          reason,
          unattributed,
          false,
          undefined,
          { sinceNs, readNs: seenNs },
        );
      }
      if (this.#stopped) return;
      // The removal is the next report: its own events (the unlink) may still be on their way.
      const removal = [...(this.#queues.get(path)?.causes ?? [])];
      const named = this.#recentCause(path);
      if (named && !removal.includes(named)) removal.push(named);
      return this.#reportGone(path, entry, seen, removal, reason, unattributed, {
        sinceNs,
        readNs,
      });
    }
    // Said once per path until it reads whole again: a file kept changing under every
    // re-read of a flood would otherwise log a line at each.
    if (!after?.readError) this.#unreadable.delete(path);
    else if (!this.#unreadable.has(path)) {
      this.#unreadable.add(path);
      this.opts.warn(
        `cannot read ${path}: ${after.readError} (said once, until it reads whole again)`,
      );
    }
    let action: FileAction | undefined = classify(entry.kind, before, after);
    // An event a report of this path carried already is not news: the listing of a
    // watched directory passes its events on to each name it finds, and the name's own
    // re-read may have reported them first.
    const unreported = (c: FimEvent) => !this.#reportedFor(c, path);
    // Some file systems (tmpfs before 6.6) set an extended attribute without
    // touching ctime: the kernel saw it succeed, so report it.
    const xattr = causes.some((c) => XATTR_OPS.has(c.op) && unreported(c));
    if (!action && xattr && entry.kind === "file" && before && after) {
      action = "attributes_changed";
    }
    // The kernel saw the name renamed, linked or truncated and the re-read finds the
    // same inode, stamps and content: still say so (nothing the kernel saw is silent).
    // fanotify's entry events come with the re-read that reports them, never alone.
    // Likewise a write, chmod, xattr change or creation no report named, just after a
    // report: it landed while that report's re-read ran, which holds it, and its event
    // came after the report.
    if (
      !action && entry.kind === "file" && before && after &&
      causes.some((c) =>
        c.via !== "fanotify" && unreported(c) &&
        (TOUCH_OPS.has(c.op) || (UNREPORTED_OPS.has(c.op) && this.#lateFor(path, c)))
      )
    ) {
      action = "touched";
    }
    this.watch.setState(path, after);
    entry.readNs = readNs;
    if (entry.kind === "dir" && !entry.shallow && after) {
      this.markDirty(path, undefined, reason);
    }
    // Another inode at the path (or none): the directories above it may be new too (an
    // ancestor swapped unseen, found by a reconcile), so those that are not watched themselves
    // are placed for the kernel again. A watched one is placed anew by its own re-read, once
    // its new inode is in the kernel's map (placed earlier, at an inode the kernel does not
    // watch, the events of what is made in it would be dropped).
    if (before && (!after || inodeKeyString(before.id) !== inodeKeyString(after.id))) {
      const above: string[] = [];
      for (let d = parentPath(path); this.watch.keys.has(d) && !this.watch.get(d);) {
        above.push(d);
        const up = parentPath(d);
        if (up === d) break;
        d = up;
      }
      this.watch.keys.refresh(above);
    }
    // A directory that became a file: what was below it is gone (or elsewhere).
    if (wasDir) {
      for (const below of this.watch.subtree(path)) this.schedule(below, undefined, reason);
    }
    if (!action) {
      // Found by listing its directory, and gone before it was read: it existed, so it is
      // reported made and gone, naming whoever the kernel said made and removed it; it is
      // not kept (kept, it would be re-read at each listing of its directory, and
      // short-lived files would pile up in the tree and the kernel's name map). Likewise a
      // path a rule names, made and gone between two reads, as the kernel said: it stays
      // watched by name.
      if (before || after) return;
      const configured = entry.path === entry.root;
      const dir = configured ? { path: parentPath(path), root: entry.root } : this.#dirOf(entry);
      const all = [...causes, ...this.#recentOf(path).filter((e) => !causes.includes(e))];
      const made = firstMaker(all);
      const removed = all.findLast((c) =>
        REMOVES_OPS.has(c.op) && c !== made && !precedes(c, made)
      );
      if (configured && (!made || this.#allReported(path, [made, removed]))) return;
      if (!configured) {
        for (const below of this.watch.subtree(path)) this.schedule(below, undefined, reason);
        this.watch.remove(path);
      }
      await this.#reportUnread(path, dir, entry.kind, { made, removed }, reason, REMOVED_UNREAD);
      return;
    }
    // A file found by expanding a directory is dropped once deleted; a configured
    // path stays watched by name, so its re-creation is reported.
    if (action === "deleted" && entry.path !== entry.root) {
      for (const below of this.watch.subtree(path)) this.schedule(below, causes[0], reason);
      this.watch.remove(path);
    }
    // A name whose creation waits for its churn window's end: what it became is said then.
    const deferred = this.#deferred.get(path);
    if (deferred) {
      if (action === "deleted") deferred.gone = true;
      return;
    }
    if (
      action === "created" && !before && entry.path !== entry.root && reason === "live" &&
      this.#defer(path, entry, causes, unattributed)
    ) return;
    await this.#report(
      path,
      entry,
      action,
      before,
      after,
      causes,
      reason,
      unattributed,
      xattr,
      undefined,
      { sinceNs, readNs },
    );
  }

  /** Reports that `path`, last seen as `seen`, is gone (it was never read twice). */
  async #reportGone(
    path: string,
    entry: WatchEntry,
    seen: FileState,
    causesIn: FimEvent[],
    reason: ChangeReason,
    unattributed: string | undefined,
    read?: ReadWindow,
  ): Promise<void> {
    let causes = causesIn;
    if (causes.length === 0 && reason === "live" && !this.#stopped) {
      // The unlink's event may still be on its way (the listing or the read came first).
      await new Promise((r) => setTimeout(r, EVENT_GRACE_MS));
      causes = [...(this.#queues.get(path)?.causes ?? [])];
      const named = this.#recentCause(path);
      if (named && !causes.includes(named)) causes.push(named);
    }
    this.watch.setState(path, undefined);
    if (entry.path !== entry.root) {
      for (const below of this.watch.subtree(path)) this.schedule(below, causes[0], reason);
      this.watch.remove(path);
    }
    await this.#report(
      path,
      entry,
      "deleted",
      seen,
      undefined,
      causes,
      reason,
      unattributed,
      false,
      undefined,
      read,
    );
  }

  /**
   * The inode numbers whose kernel events may be about `path`: its inodes
   * before and after, and its directory's; undefined when the directory
   * cannot be found (then any event may be).
   */
  #inodesAbout(
    path: string,
    before: FileState | undefined,
    after: FileState | undefined,
  ): bigint[] | undefined {
    const dir = parentPath(path);
    let dirIno = this.watch.get(dir)?.state?.id.ino;
    try {
      dirIno ??= lstat(dir)?.ino;
    } catch {
      return undefined;
    }
    if (dirIno === undefined) return undefined;
    return [dirIno, ...[before, after].flatMap((s) => s ? [s.id.ino] : [])];
  }

  /** Emits `action` for `path` (before → after), naming the process among `causes` that made it. */
  async #report(
    path: string,
    entry: Pick<WatchEntry, "kind" | "root">,
    action: FileAction,
    before: FileState | undefined,
    after: FileState | undefined,
    causesIn: FimEvent[],
    reason: ChangeReason,
    unattributed: string | undefined,
    xattr: boolean,
    notRead?: string,
    read?: ReadWindow,
  ): Promise<void> {
    let causes = causesIn;
    // The kernel saw the content written (a write or truncate) and the re-read finds it as
    // before: written and put back (a line added, truncated away, mtime restored), not a chmod.
    // An extended attribute changed: the file's capabilities are what matter most (setcap).
    // Named here only for a state that did not know its attributes (a record of an older
    // bpfink); otherwise the two states' attributes say what changed (attr_changes.ts).
    const capabilities = xattr && action === "attributes_changed" && before?.attrs === undefined
      ? fileCapabilities(path)
      : undefined;
    if (action !== "touched") {
      // A ring buffer far behind (a flood) holds events older than this read: wait for those
      // that may be about this path.
      const queued = this.opts.behind?.(this.#inodesAbout(path, before, after));
      if (queued) await queued;
      causes = this.#withPossibleWriters(path, action, causes);
    }
    // A cause that cannot say what changed (fanotify's, or one of another kind than the
    // change: an ATTRIB for new content) may be another process's, seen before the syscall
    // whose change this re-read found and whose kernel event is still on its way: wait for
    // it once, so the change is credited to the process that made it (issue #17: folding).
    // Likewise a removal a listing found whose only causes are name events that reports of
    // the path carried already (an `ln` that replaced it a moment ago, remembered for the
    // name): the entry is gone before the remover's syscall exits, where the kernel sends
    // its event, so a listing can find it gone first. Credited to the `ln`, it would be
    // another process's act.
    const changed = action === "modified" || action === "attributes_changed";
    const stale = action === "deleted" && causes.every((c) => this.#reportedFor(c, path));
    if (
      reason === "live" && causes.length > 0 && !this.#stopped &&
      ((changed && isWeakCause(action, pickCause(action, causes, read))) || stale)
    ) {
      await new Promise((r) => setTimeout(r, EVENT_GRACE_MS));
      const late = [...(this.#queues.get(path)?.causes ?? [])];
      // A path taken out of the watch set (deleted under a watched directory) gets no more
      // events queued; its name's latest event is remembered still.
      const named = stale ? this.#recentCause(path) : undefined;
      if (named && !causes.includes(named) && !late.includes(named)) late.push(named);
      // Kept queued as well: the re-read they start finds nothing new, or a later change.
      if (late.length) causes = [...causes, ...late.slice(0, MAX_CAUSES)];
    }
    // Judged on every cause known now, not only those that started the re-read: a write's
    // kernel event may come after another event of the same change (the touch that put the
    // mtime back, or fanotify's), drained from a ring buffer that was behind. A process that
    // only holds the file mapped is no evidence of a write, nor is its mapping's event that the
    // poll queued again beside a chmod (the kernel's event of the mmap itself still is).
    const mapped = this.#mapped.get(path);
    const writtenBack = action === "attributes_changed" &&
      causes.some((c) =>
        CONTENT_OPS.has(c.op) && !this.#reportedFor(c, path) &&
        ((causesIn.includes(c) && !this.#polled.has(c)) || mapped?.get(c.tgid) !== c)
      );
    // An event a report of this path carried already (an `ln` that replaced it a second
    // ago, remembered for the listing) yields to one that is news (the `rm` removing it now).
    const told = new Set(causes.filter((c) => this.#reportedFor(c, path)));
    if (told.size) causes = [...causes.filter((c) => !told.has(c)), ...told];
    for (const c of causes) {
      const paths = this.#reported.get(c);
      if (paths) paths.add(path);
      else this.#reported.set(c, new Set([path]));
    }
    const cause = pickCause(action, causes, read, (c) => told.has(c));
    // A mount that did not make the change (one whose look found a chmod) is no writer of it.
    const others = otherWriters(
      cause,
      causes.filter((c) => c.op !== FimOp.Mount || c === cause),
    );
    const now = performance.now();
    this.#lastReport.setNewest(path, {
      at: now,
      writers: new Set([cause, ...others].filter((c) => c !== undefined).map(writerKey)),
    });
    this.#lastReport.dropOldest((r) => now - r.at <= LATE_EVENT_MS, now);
    this.opts.emit({
      action,
      path,
      kind: entry.kind,
      root: entry.root,
      before,
      after,
      cause,
      ...(others.length ? { otherWriters: others } : {}),
      folded: causes.length,
      reason,
      ...(!cause && unattributed && reason === "live" ? { unattributed } : {}),
      ...(xattr && action === "attributes_changed" ? { xattr: true } : {}),
      ...(writtenBack ? { writtenBack: true } : {}),
      ...(capabilities !== undefined ? { capabilities } : {}),
      ...(notRead ? { notRead } : {}),
    });
  }

  /**
   * Re-reads every watched path (after dropped events, or on a timer), or with
   * `only` the watches at or below those inodes (WatchSet.atOrBelowInodes); a
   * path whose inode (`dev:ino`) has processes in `causes` is re-read naming
   * them. Returns how many paths it scheduled; undefined, scheduling none,
   * when no watch is at or below one of `only`.
   */
  rescan(
    reason: ChangeReason,
    causes?: ReadonlyMap<string, FimEvent[]>,
    only?: readonly InodeId[],
  ): number | undefined {
    const entries = only ? this.watch.atOrBelowInodes(only) : this.watch.entries();
    if (!entries) return undefined;
    for (const e of entries) {
      const id = causes?.size ? e.id : undefined;
      const named = id ? causes!.get(inodeKeyString(id)) : undefined;
      this.#scheduleAll(e.path, named ?? [], reason);
    }
    return entries.length;
  }

  /**
   * Runs the re-reads whose settle is over now, without waiting for the
   * clock's wake (DeadlineClock.runDue): the ring buffer's and fanotify's
   * handlers call it between their chunks.
   */
  runDue(): void {
    if (!this.#stopped) this.#clock.runDue();
  }

  /** Resolves when no path is waiting or being re-read. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Whether no path is waiting or being re-read, no listing is due or running, no report pending. */
  #isIdle(): boolean {
    return this.#queues.size === 0 && !this.#syncing && this.#syncTimer === undefined &&
      this.#unread.size === 0;
  }

  #wakeIdle(): void {
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const r of w) r();
  }

  /**
   * Cancels pending work (on shutdown) and resolves once the re-reads and the
   * directory listing in flight have ended: after that nothing touches the
   * kernel side, which may then close.
   */
  async stop(): Promise<void> {
    this.#fold.stop();
    this.#stopped = true;
    this.#hereSlice.close();
    if (this.#mappedTimer !== undefined) clearInterval(this.#mappedTimer);
    this.#mapped.clear();
    const clockClosed = this.#clock.close();
    for (const t of this.#rearmTimers) clearTimeout(t);
    this.#rearmTimers.clear();
    this.#syncTimer = undefined;
    this.#dirtyDirs.clear();
    this.#queues.clear();
    for (const w of this.#waiting) {
      w.live.clear();
      w.bulk.clear();
    }
    this.#abort.abort();
    this.#offered.clear();
    this.#closed.clear();
    this.mountWatch.stop();
    this.#lastReport.clear();
    this.#wakeIdle();
    await Promise.allSettled([...this.#inFlight, this.#syncing, clockClosed]);
  }
}

/** What happened between two states of one path, if anything. */
export function classify(
  kind: "file" | "dir",
  before: FileState | undefined,
  after: FileState | undefined,
): FileAction | undefined {
  if (!before && !after) return undefined;
  if (!before) return "created";
  if (!after) return "deleted";
  // Another inode, or the same number given to a new file (another birth time).
  if (!sameFile(before, after)) return "replaced";
  // A directory's listing is its content (reported name by name; its mtime and size move with
  // it). Who may make, remove or rename names in it is its own: its mode and owner (`chmod o+w`
  // or a chown of sudoers.d lets another user drop files there), an ACL (a default ACL passes
  // to everything made in it), an inode flag or an xattr.
  if (kind === "dir") {
    return before.mode !== after.mode || before.uid !== after.uid || before.gid !== after.gid ||
        (before.attrs !== undefined && after.attrs !== undefined && before.attrs !== after.attrs)
      ? "attributes_changed"
      : undefined;
  }
  if (!stateChanged(before, after)) return undefined;
  // Content not read whole on either side (over the hash limit, kept changing): a new
  // mtime may be new content, so it is not said to be attributes only.
  const unknown = (before.readError !== undefined || after.readError !== undefined) &&
    (before.sha256 === undefined || after.sha256 === undefined);
  if (unknown && (before.mtimeNs !== after.mtimeNs || before.mtimeMs !== after.mtimeMs)) {
    return "modified";
  }
  if (before.sha256 === after.sha256 && before.size === after.size) return "attributes_changed";
  return "modified";
}

/** Operations that change a file's content, and those that change only its attributes. */
const CONTENT_OPS = new Set([FimOp.Write, FimOp.Truncate, FimOp.PathTruncate, FimOp.MmapWrite]);
const ATTR_OPS = new Set([FimOp.Attrib, FimOp.PathAttrib, FimOp.Xattr, FimOp.PathXattr]);

/** Whether the kernel's clock says event `a` came before `b` (fanotify's events say no time). */
function precedes(a: FimEvent | undefined, b: FimEvent | undefined): boolean {
  return !!a && !!b && a.tsNs > 0n && b.tsNs > 0n && a.tsNs < b.tsNs;
}

/**
 * The event among `events` that put the inode at a name first: the earliest by the kernel's
 * clock (a link(2) of the name to another, later, is a "make" of both names), else as
 * pickCause says.
 */
function firstMaker(events: readonly FimEvent[]): FimEvent | undefined {
  let first: FimEvent | undefined;
  for (const e of events) {
    if (MAKES_OPS.has(e.op) && e.tsNs > 0n && (!first || e.tsNs < first.tsNs)) first = e;
  }
  return first ?? pickCause("created", events.filter((c) => MAKES_OPS.has(c.op)));
}

/** The kernel's time of the latest of `events` that put an inode at a name, if any says when. */
function latestMake(events: readonly FimEvent[]): bigint | undefined {
  let at: bigint | undefined;
  for (const e of events) {
    if (MAKES_OPS.has(e.op) && e.tsNs > 0n && (at === undefined || e.tsNs > at)) at = e.tsNs;
  }
  return at;
}

/** Whether an operation of `c`'s kind can have made a change reported as `action`. */
function explains(action: FileAction, c: FimEvent): boolean {
  if (action === "modified") return CONTENT_OPS.has(c.op);
  if (action === "attributes_changed") return ATTR_OPS.has(c.op) || CONTENT_OPS.has(c.op);
  return NAME_OPS.has(c.op);
}

/** Whether `c` cannot vouch for `action`: none, fanotify's (no detail), or of another kind. */
function isWeakCause(action: FileAction, c: FimEvent | undefined): boolean {
  return !c || c.via === "fanotify" || !explains(action, c);
}

/**
 * The process a report of `action` names among `causes`, found by the re-read
 * `read` says when of; `told` says which events a report of the path carried
 * already.
 */
function pickCause(
  action: FileAction,
  causes: FimEvent[],
  read?: ReadWindow,
  told?: (c: FimEvent) => boolean,
): FimEvent | undefined {
  // The kind of operation that explains the action comes first (new content: a write or
  // truncate, not an ATTRIB); within a kind, the BPF object's event (full attribution)
  // before fanotify's. A write the BPF object saw to the old inode never explains a
  // replacement fanotify saw by name.
  // A new inode at the name is credited to the process that put it there (`sh` of
  // `rm f && echo x > f`, not `rm`), a removal to the one that took it away.
  // A mount (or umount) changes which inode a path names, never an inode: it explains a
  // path that names another inode or none, and nothing else.
  const byName = (c: FimEvent) => NAME_OPS.has(c.op);
  const byFd = (c: FimEvent) => !NAME_OPS.has(c.op) && c.op !== FimOp.Mount;
  const bpf = (c: FimEvent) => c.via !== "fanotify";
  const exact = (c: FimEvent) => explains(action, c);
  const makes = (c: FimEvent) => MAKES_OPS.has(c.op);
  const removes = (c: FimEvent) => REMOVES_OPS.has(c.op);
  const mounted = (c: FimEvent) => c.op === FimOp.Mount;
  const kinds = action === "modified" || action === "attributes_changed"
    ? [exact, byFd, byName]
    : action === "created" || action === "replaced"
    ? [makes, byName, mounted, byFd]
    : action === "deleted"
    ? [removes, byName, mounted, byFd]
    : [byName, byFd];
  for (const kind of kinds) {
    const c = whoseStateWasRead(causes.filter((c) => kind(c) && bpf(c)), read, told) ??
      causes.find(kind);
    if (c) return c;
  }
  return undefined;
}

/**
 * When the re-read that found a change began, and the one the state before it
 * is from (CLOCK_MONOTONIC ns, the clock the kernel stamps its events with);
 * undefined where not known.
 */
interface ReadWindow {
  sinceNs?: bigint;
  readNs?: bigint;
}

/**
 * Of several events of one kind, the one whose result the re-read `read`
 * found, by the kernel's clock, never by the order they came in (that is the
 * event loop's, and a lagging agent folds the writes of several processes
 * into one re-read): the latest stamped between the read before and this
 * read, since the file holds what that operation left (a rewrite replaced the
 * earlier writer's content, an append came after it; the others are named
 * beside it); else the first stamped after this read began (it may have
 * landed while the file was read: an event is stamped at the syscall's exit);
 * else the latest stamped before the read before (its result was in the
 * state before already); else the first (events made from /proc carry no
 * kernel time). Events no report carried yet come before those one did
 * (`told`).
 */
function whoseStateWasRead(
  events: FimEvent[],
  read: ReadWindow | undefined,
  told?: (c: FimEvent) => boolean,
): FimEvent | undefined {
  const news = told ? events.filter((c) => !told(c)) : events;
  const pool = news.length ? news : events;
  const since = read?.sinceNs ?? 0n;
  const until = read?.readNs;
  let within: FimEvent | undefined;
  let after: FimEvent | undefined;
  let stale: FimEvent | undefined;
  for (const c of pool) {
    if (c.tsNs <= 0n) continue;
    if (until !== undefined && c.tsNs > until) {
      if (!after || c.tsNs < after.tsNs) after = c;
    } else if (c.tsNs >= since) {
      if (!within || c.tsNs > within.tsNs) within = c;
    } else if (!stale || c.tsNs > stale.tsNs) stale = c;
  }
  return within ?? after ?? stale ?? pool[0];
}

/**
 * One process, whoever saw it: its pid and start time in clock ticks (a
 * fanotify event's start time comes from /proc, in ticks; the kernel
 * object's is in nanoseconds).
 */
function writerKey(e: FimEvent): string {
  return `${e.tgid}:${e.startNs / NS_PER_TICK}`;
}

/** One event per process (writerKey) among `causes`, other than `cause`'s. */
function otherWriters(cause: FimEvent | undefined, causes: FimEvent[]): FimEvent[] {
  const seen = new Set(cause ? [writerKey(cause)] : []);
  // A fanotify event whose process /proc no longer showed (no start time) is taken for the
  // writer a BPF event of its pid names.
  const bpfPids = new Set(causes.filter((c) => c.via !== "fanotify").map((c) => c.tgid));
  const others: FimEvent[] = [];
  for (const c of causes) {
    const k = writerKey(c);
    if (seen.has(k) || (c.via === "fanotify" && c.startNs === 0n && bpfPids.has(c.tgid))) continue;
    seen.add(k);
    others.push(c);
  }
  return others;
}

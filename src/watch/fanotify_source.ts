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
 * An event names its inode by file handle: it is mapped to the watch entry
 * through a table filled when the inode was marked (name_to_handle_at on the
 * fd that was marked), never by name. The BPF event for the same change has
 * the full attribution and wins: a fanotify event waits GRACE_MS, and is fed
 * to the monitor only when no re-read (or listing) of its paths has started
 * since it was read. A normal write is thus reported once, by BPF; a change
 * only fanotify saw is reported with the process /proc showed for the
 * event's pid when it was read, and `event.reason` says so. A queue overflow
 * rescans every watch, as a ring-buffer drop does. After a write event the
 * inode's writes are muted in the kernel (`FAN_MODIFY` leaves its mark) until the
 * monitor re-arms it before the next re-read, as the BPF object's pending
 * flag does: a flood of writes costs one event.
 *
 * @module
 */
import { DIR_MASK, FanMask, FILE_MASK } from "../fanotify/fanotify_abi.ts";
import { FanotifyGroup, type Marked } from "../fanotify/fanotify_group.ts";
import { type FanEvent, type FanFid, parseFanotify } from "../fanotify/fanotify_records.ts";
import { InfoType } from "../fanotify/fanotify_abi.ts";
import { type FimEvent, FimOp, FimWatch } from "../kernel/fim_event.ts";
import type { AttributedEvent } from "./attribution.ts";
import { type InodeId, inodeKeyString } from "./inode_key.ts";
import { decodePathBytes } from "./path_bytes.ts";
import { processDetails, startTicksOf } from "./process_details.ts";
import type { KernelWatchTable, WatchSet } from "./watch_set.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { errorMessage } from "../error_message.ts";

/** Why a change only an unprivileged fanotify group saw names no process. */
const HIDDEN = "seen by fanotify only, and the kernel hides the process from a listener " +
  "without CAP_SYS_ADMIN";

/** How long a fanotify event waits for the BPF event of the same change (and its re-read). */
export const GRACE_MS = 100;

/** What the source needs from a fanotify group (fanotify_group.ts). */
export interface FanotifyMarks {
  readonly names: boolean;
  readonly privileged: boolean;
  mark(path: string, ino: bigint, mask: number): Marked | undefined;
  unmark(m: Marked): void;
  mute(m: Marked, mask: number): boolean;
  unmute(m: Marked, mask: number): void;
  start(onBytes: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
  readonly done: Promise<void>;
}

/** What the source feeds (the file monitor). */
export interface FanotifySink {
  onKernelEvent(e: AttributedEvent): void;
  markDirty(dir: string, cause: undefined, reason: "live", unattributed: string): void;
  rescan(reason: "rescan"): void;
  schedule(path: string, cause: undefined, reason: "live", unattributed: string): void;
  offer(path: string, e: AttributedEvent): void;
}

/** Options for the source. */
export interface FanotifySourceOptions {
  warn: (message: string) => void;
  graceMs?: number;
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
}

/** BPF operations about an inode (not a name). */
const INODE_OPS = new Set([
  FimOp.Write,
  FimOp.Truncate,
  FimOp.Attrib,
  FimOp.MmapWrite,
  FimOp.Xattr,
]);

const CONTENT = FanMask.MODIFY | FanMask.ATTRIB | FanMask.DELETE_SELF | FanMask.MOVE_SELF;
const ENTRY = FanMask.CREATE | FanMask.DELETE | FanMask.MOVED_FROM | FanMask.MOVED_TO;

/** Which kernel operation a fanotify mask stands for, for the monitor's routing. */
function opOf(mask: number): FimOp {
  if (mask & (FanMask.MOVED_FROM | FanMask.MOVED_TO)) return FimOp.Rename;
  if (mask & FanMask.DELETE) return FimOp.Unlink;
  if (mask & FanMask.CREATE) return FimOp.Create;
  if (mask & FanMask.MODIFY) return FimOp.Write;
  return FimOp.Attrib;
}

/** What /proc shows about process `pid` right now (best effort; empty fields once it exited). */
function procFacts(pid: number) {
  const facts = {
    comm: "",
    ppid: 0,
    uid: 0,
    euid: 0,
    auid: undefined as number | undefined,
    startNs: 0n,
  };
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    facts.comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    facts.ppid = Number(rest[1]) || 0;
    const ticks = startTicksOf(stat);
    if (ticks !== undefined) facts.startNs = ticks * 10_000_000n;
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    if (uids) [facts.uid, facts.euid] = [Number(uids[1]), Number(uids[2])];
    const login = Number(Deno.readTextFileSync(`/proc/${pid}/loginuid`).trim());
    if (Number.isInteger(login) && login !== 0xffffffff) facts.auid = login;
  } catch {
    // exited already: the pid is all there is
  }
  return facts;
}

/** fanotify marks that follow the watch set, and the events they bring. */
export class FanotifySource {
  /** Marked inodes by inode key. */
  readonly #marked = new Map<string, { m: Marked; mask: number; id: InodeId }>();
  /** Inodes by the handle key their events carry. */
  readonly #byFid = new Map<string, InodeId>();
  /** Inode keys by handle without file system (fallback when an fsid differs by mount). */
  readonly #byHandle = new Map<string, Set<string>>();
  readonly #pending = new Map<string, Pending>();
  /**
   * Watched inodes the kernel reported freed (FAN_DELETE_SELF), until the watch set lets
   * them go: their number may already name another file.
   */
  readonly #dead = new Set<string>();
  /** Inodes whose FAN_MODIFY is muted in the kernel until their next re-read (rearm()). */
  readonly #muted = new Set<string>();
  #timer?: ReturnType<typeof setTimeout>;
  #watch?: WatchSet;
  #sink?: FanotifySink;
  #stopped = false;
  readonly #graceMs: number;
  #warnedMark = false;
  /** Counters for metrics. */
  readonly counts = {
    events: 0,
    fed: 0,
    covered: 0,
    unmatched: 0,
    overflows: 0,
    malformed: 0,
    markFailures: 0,
    stale: 0,
  };

  constructor(readonly group: FanotifyMarks, readonly opts: FanotifySourceOptions) {
    this.#graceMs = opts.graceMs ?? GRACE_MS;
  }

  /** Starts reading; events about `watch`'s entries go to `sink`. */
  start(watch: WatchSet, sink: FanotifySink): void {
    this.#watch = watch;
    this.#sink = sink;
    this.group.start((bytes) => this.#onBytes(bytes));
    this.group.done.catch((e) =>
      this.opts.warn(
        `fanotify stopped reading (${errorMessage(e)}): the BPF hooks and the reconcile remain`,
      )
    );
  }

  /**
   * The watch set points the kernel at inode `id` (`flags`: FimWatch): mark
   * it, through one of its paths, unless it is marked for that already.
   */
  watchInode(id: InodeId, flags: number, pathsOf: (id: InodeId) => string[]): void {
    if (this.#stopped) return;
    const k = inodeKeyString(id);
    const want = (flags & FimWatch.Dir ? DIR_MASK : 0) | (flags & FimWatch.File ? FILE_MASK : 0);
    // A number the kernel freed and now gives to another inode: mark that one afresh.
    if (this.#dead.delete(k)) this.#forget(k);
    const have = this.#marked.get(k);
    if (have && (have.mask & want) === want) return;
    for (const path of pathsOf(id)) {
      let m: Marked | undefined;
      try {
        m = this.group.mark(path, id.ino, want);
      } catch (e) {
        this.counts.markFailures++;
        if (!this.#warnedMark) {
          this.#warnedMark = true;
          this.opts.warn(
            `fanotify cannot mark ${JSON.stringify(path)} (${errorMessage(e)}): ` +
              `such paths rely on the BPF hooks and the reconcile`,
          );
        }
        return;
      }
      if (!m) continue;
      if (have && have.m.key !== m.key) this.#forget(k);
      this.#marked.set(k, { m, mask: (have?.mask ?? 0) | want, id });
      this.#byFid.set(m.key, id);
      let hs = this.#byHandle.get(m.handleKey);
      if (!hs) this.#byHandle.set(m.handleKey, hs = new Set());
      hs.add(k);
      return;
    }
  }

  /**
   * Mutes further writes to `id` in the kernel until its next re-read: the
   * re-read that follows this event (the BPF object's, or the one this
   * event makes) re-arms it first, so what was muted is in that read.
   */
  #mute(id: InodeId): void {
    const k = inodeKeyString(id);
    if (this.#muted.has(k)) return;
    const r = this.#marked.get(k);
    if (r && this.group.mute(r.m, FanMask.MODIFY)) this.#muted.add(k);
  }

  /**
   * Whether BPF event `e` is about an inode the kernel freed (FAN_DELETE_SELF)
   * while the watch set still has its number: then it is about another file
   * that got the number (ext4 hands freed numbers out again at once), and
   * must not be taken for a change of the watched path nor name its process.
   */
  staleBpfEvent(e: FimEvent): boolean {
    if (!INODE_OPS.has(e.op) || !this.#dead.has(inodeKeyString({ dev: e.dev, ino: e.ino }))) {
      return false;
    }
    this.counts.stale++;
    return true;
  }

  /** The monitor is about to re-read inode `id`: report its next write again. */
  rearm(id: InodeId): void {
    const k = inodeKeyString(id);
    if (!this.#muted.delete(k)) return;
    const r = this.#marked.get(k);
    if (r && !this.#stopped) this.group.unmute(r.m, FanMask.MODIFY);
  }

  /** The watch set no longer watches inode `id`: remove its mark. */
  unwatchInode(id: InodeId): void {
    const k = inodeKeyString(id);
    const r = this.#marked.get(k);
    if (!r) return;
    this.#forget(k);
    this.#muted.delete(k);
    this.#dead.delete(k);
    if (!this.#stopped) {
      try {
        this.group.unmark(r.m);
      } catch {
        // gone with its inode
      }
    }
  }

  #forget(k: string): void {
    const r = this.#marked.get(k);
    if (!r) return;
    this.#marked.delete(k);
    this.#byFid.delete(r.m.key);
    const hs = this.#byHandle.get(r.m.handleKey);
    hs?.delete(k);
    if (hs?.size === 0) this.#byHandle.delete(r.m.handleKey);
  }

  /** Marked inodes now. */
  get marks(): number {
    return this.#marked.size;
  }

  #lookup(fid: FanFid): InodeId | undefined {
    const id = this.#byFid.get(fid.key);
    if (id) return id;
    const hs = this.#byHandle.get(fid.handleKey);
    if (hs?.size !== 1) return undefined;
    return this.#marked.get([...hs][0])?.id;
  }

  #onBytes(bytes: Uint8Array): void {
    if (this.#stopped) return;
    const readAt = performance.now();
    const batch = parseFanotify(bytes);
    for (const e of batch.events) this.#onEvent(e, readAt);
    if (batch.malformed) {
      // Never seen from a real kernel: whatever the rest held is covered by a rescan.
      this.counts.malformed++;
      this.opts.warn("fanotify returned a record that could not be parsed: rescanning every watch");
      this.#sink?.rescan("rescan");
    }
  }

  #onEvent(e: FanEvent, readAt: number): void {
    if (e.fd >= 0) this.#closeFd(e.fd);
    this.counts.events++;
    if (e.mask & FanMask.Q_OVERFLOW) {
      this.counts.overflows++;
      this.opts.warn("the fanotify queue overflowed: rescanning every watch");
      this.#sink?.rescan("rescan");
      return;
    }
    if (e.pid === Deno.pid) return; // the agent's own reads and marks
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
        this.#hold(key, readAt, e, { id: dirId, name, op: opOf(e.mask & ENTRY) });
      }
    }
    if (e.mask & CONTENT && !(this.group.names === false && e.mask & ENTRY)) {
      const id = self && this.#lookup(self);
      if (id) {
        matched = true;
        if (e.mask & FanMask.MODIFY) this.#mute(id);
        if (e.mask & FanMask.DELETE_SELF) this.#dead.add(inodeKeyString(id));
        this.#hold(`i:${inodeKeyString(id)}:${e.pid}`, readAt, e, {
          id,
          op: opOf(e.mask & CONTENT),
        });
      }
    }
    if (!matched) this.counts.unmatched++;
  }

  /** An fd comes only without FID reporting, which is never asked for: closed, never leaked. */
  #closeFd(fd: number): void {
    FanotifyGroup.closeFd(fd);
  }

  #hold(
    key: string,
    readAt: number,
    e: FanEvent,
    what: { id: InodeId; name?: string; op: FimOp },
  ): void {
    // Keyed by process too: each process's event is its own cause, with its own grace.
    const p = this.#pending.get(key);
    if (p) {
      p.readAt = readAt;
      return;
    }
    // pid 0: an unprivileged listener is not told other processes' pids.
    const event = e.pid > 0 ? this.#attributed(e.pid, what.id, what.op, what.name) : undefined;
    this.#pending.set(key, { readAt, id: what.id, name: what.name, event });
    this.#timer ??= setTimeout(() => this.#expire(), this.#graceMs);
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
      d === "/" ? `/${name}` : `${d}/${name}`
    );
  }

  /** The synthetic kernel event, with what /proc shows about `pid` now (it may exit soon). */
  #attributed(pid: number, id: InodeId, op: FimOp, name?: string): AttributedEvent {
    const f = procFacts(pid);
    const details = processDetails(pid, "", f.startNs);
    const exe = details.executable?.slice(details.executable.lastIndexOf("/") + 1) ?? "";
    return {
      tsNs: 0n,
      ino: name === undefined ? id.ino : 0n,
      dirIno: name === undefined ? 0n : id.ino,
      cgroupId: 0n,
      dev: id.dev,
      op,
      pid,
      tgid: pid,
      ppid: f.ppid,
      uid: f.uid,
      euid: f.euid,
      auid: f.auid,
      syscallNr: -1,
      comm: f.comm,
      name: name ?? "",
      exe,
      startNs: f.startNs,
      details,
      via: "fanotify",
    };
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = performance.now();
    for (const [key, p] of this.#pending) {
      if (now - p.readAt < this.#graceMs) continue;
      this.#feed(key, p);
    }
    if (this.#pending.size) this.#timer = setTimeout(() => this.#expire(), this.#graceMs);
  }

  /** Feeds `p` to the monitor unless every path it concerns was looked at since it was read. */
  #feed(key: string, p: Pending): void {
    this.#pending.delete(key);
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
    const dirs = watch.keys.dirPathsOf(p.id).filter((d) => watch.get(d)?.kind === "dir");
    const child = (d: string) => (d === "/" ? `/${p.name}` : `${d}/${p.name}`);
    const covered = dirs.every((d) =>
      looked(d) && (!p.name || !watch.get(child(d)) || looked(child(d)))
    );
    if (covered) {
      this.counts.covered++;
      return;
    }
    this.counts.fed++;
    if (p.name && p.event) sink.onKernelEvent(p.event);
    else {
      const why = p.event ? "seen by fanotify only (this kernel reports no entry names)" : HIDDEN;
      for (const d of dirs) {
        sink.markDirty(d, undefined, "live", why);
        if (p.name && watch.get(child(d))) sink.schedule(child(d), undefined, "live", why);
      }
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
  }

  /** Stops feeding, and closes the group (every mark goes with it). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    this.#muted.clear();
    this.#dead.clear();
    await this.group.close();
    this.#marked.clear();
    this.#byFid.clear();
    this.#byHandle.clear();
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
  return {
    watchEntry: (dir, h) => kernel.watchEntry(dir, h),
    unwatchEntry: (dir, h) => kernel.unwatchEntry(dir, h),
    watchDirPath: (base, h, dir) => kernel.watchDirPath(base, h, dir),
    unwatchDirPath: (base, h) => kernel.unwatchDirPath(base, h),
    watchBasename: (h) => kernel.watchBasename(h),
    unwatchBasename: (h) => kernel.unwatchBasename(h),
    watchInode(id, flags) {
      try {
        kernel.watchInode(id, flags);
      } finally {
        fan.watchInode(id, flags, pathsOf);
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
 * the agent goes on with the BPF hooks and the reconcile.
 */
export function openFanotify(
  warn: (message: string) => void,
  onLost?: (what: string) => void,
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
  return new FanotifySource(group, { warn });
}

/**
 * Routes kernel events to watched paths, folds bursts per path, re-reads the
 * path and reports what really changed. Re-arms the kernel's per-inode
 * pending flag before each re-read, so no write can fall between the read
 * and the next event.
 *
 * @module
 */
import { join } from "node:path";
import { type FimEvent, FimOp } from "../bpf/fim_event.ts";
import {
  type FileState,
  readFileState,
  stateChanged,
  withoutContent,
} from "../watch/file_state.ts";
import { type InodeId, inodeKeyString } from "../watch/inode_key.ts";
import type { WatchEntry, WatchSet } from "../watch/watch_set.ts";
import type { AttributedEvent } from "./attribution.ts";
import type { ChangeReason, FileAction, FileChange } from "./file_change.ts";
import { mappingHolders } from "./mapping_holders.ts";
import { processDetails } from "./process_details.ts";

/** Options for the monitor. */
export interface FileMonitorOptions {
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
  /** Whether a new file found in watched directory `dir` is to be watched (include/exclude); default yes. */
  admits?: (dir: WatchEntry, path: string) => boolean;
}

interface PathQueue {
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<void>;
  dirty: boolean;
  causes: FimEvent[];
  reason: ChangeReason;
}

const NAME_OPS = new Set([
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

/** Most files one directory listing adopts; the rest wait for the next listing. */
const MAX_ADOPTED_PER_LISTING = 10_000;

/** Turns kernel events into file changes. */
export class FileMonitor {
  readonly #queues = new Map<string, PathQueue>();
  readonly #settleMs: number;
  #idleWaiters: (() => void)[] = [];
  /** Paths mapped shared+writable → the processes (tgid) that mapped them, with the mapping event. */
  readonly #mapped = new Map<string, Map<number, FimEvent>>();
  #mappedTimer?: ReturnType<typeof setInterval>;

  constructor(readonly watch: WatchSet, readonly opts: FileMonitorOptions) {
    this.#settleMs = opts.settleMs ?? 2;
  }

  /** Routes one kernel event to the paths it concerns. */
  onKernelEvent(raw: FimEvent): void {
    // Look the process up now, while it most likely still exists.
    const e: AttributedEvent = { ...raw, details: processDetails(raw.tgid, raw.exe, raw.startNs) };
    if (
      e.op === FimOp.Write || e.op === FimOp.Truncate || e.op === FimOp.Attrib ||
      e.op === FimOp.MmapWrite || e.op === FimOp.Xattr
    ) {
      const id = { dev: e.dev, ino: e.ino };
      const paths = this.watch.pathsOfInode(id);
      if (paths.length === 0) this.opts.rearm(id); // stale kernel entry
      for (const p of paths) {
        if (e.op === FimOp.MmapWrite) this.#trackMapping(p, e);
        this.schedule(p, e, "live");
      }
      return;
    }
    if (e.op === FimOp.Create) {
      const dir = this.watch.dirOfInode({ dev: e.dev, ino: e.dirIno });
      if (dir && e.name) {
        const child = join(dir.path, e.name);
        if (!this.watch.get(child)) {
          if (this.opts.admits?.(dir, child) === false) return;
          this.watch.add(child, "file", dir.root);
        }
        this.schedule(child, e, "live");
      }
    }
    if (NAME_OPS.has(e.op)) {
      for (const p of this.watch.pathsNamed(e.name)) this.schedule(p, e, "live");
    }
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
        this.schedule(path, e, "live");
        // The mapping may live on in a child forked after the mmap: follow it there.
        if (!alive && procs.size === 0) {
          for (const pid of mappingHolders({ dev: e.dev, ino: e.ino })) procs.set(pid, e);
        }
      }
      if (procs.size === 0) this.#mapped.delete(path);
    }
    if (this.#mapped.size === 0 && this.#mappedTimer !== undefined) {
      clearInterval(this.#mappedTimer);
      this.#mappedTimer = undefined;
    }
  }

  /** Queues a re-read of `path`. */
  schedule(path: string, cause: FimEvent | undefined, reason: ChangeReason): void {
    let q = this.#queues.get(path);
    if (!q) {
      q = { dirty: false, causes: [], reason };
      this.#queues.set(path, q);
    }
    if (cause && q.causes.length < 64) q.causes.push(cause);
    if (q.running) {
      q.dirty = true;
      return;
    }
    if (q.timer === undefined) q.timer = setTimeout(() => this.#run(path), this.#settleMs);
  }

  #run(path: string): void {
    const q = this.#queues.get(path);
    if (!q) return;
    q.timer = undefined;
    const causes = q.causes.splice(0);
    const reason = q.reason;
    q.running = this.#process(path, causes, reason)
      .catch((e) => this.opts.warn(`${path}: ${e instanceof Error ? e.message : e}`))
      .finally(() => {
        q.running = undefined;
        if (q.dirty || q.causes.length) {
          q.dirty = false;
          q.timer = setTimeout(() => this.#run(path), this.#settleMs);
        } else {
          this.#queues.delete(path);
          if (this.#queues.size === 0) this.#wakeIdle();
        }
      });
  }

  async #process(path: string, causes: FimEvent[], reason: ChangeReason): Promise<void> {
    const entry = this.watch.get(path);
    if (!entry) return;
    const before = entry.state;
    if (before) this.opts.rearm(before.id);
    let after: FileState | undefined;
    try {
      after = await readFileState(path, this.opts.keepContentUpTo ?? 0);
      // A new inode (replaced, created) enters the kernel map only now: read it
      // once more under watch, so a write that raced the first read is in the
      // second one or sends an event.
      if (after && (!before || inodeKeyString(before.id) !== inodeKeyString(after.id))) {
        this.watch.setState(path, withoutContent(after));
        after = await readFileState(path, this.opts.keepContentUpTo ?? 0);
      }
    } catch (e) {
      this.opts.warn(
        `cannot read ${path}: ${e instanceof Error ? e.message : e}; keeping the last known state`,
      );
      return;
    }
    if (after?.readError) this.opts.warn(`cannot read ${path}: ${after.readError}`);
    let action = classify(entry.kind, before, after);
    // Some file systems (tmpfs before 6.6) set an extended attribute without
    // touching ctime: the kernel saw it succeed, so report it.
    const xattr = causes.some((c) => XATTR_OPS.has(c.op));
    if (!action && xattr && entry.kind === "file" && before && after) {
      action = "attributes_changed";
    }
    this.watch.setState(path, after && withoutContent(after));
    if (entry.kind === "dir" && after) await this.#adoptNewFiles(entry, causes, reason);
    if (!action) return;
    // A file found by expanding a directory is dropped once deleted; a configured
    // path stays watched by name, so its re-creation is reported.
    if (action === "deleted" && entry.path !== entry.root) this.watch.remove(path);
    const cause = pickCause(action, causes);
    const others = otherWriters(cause, causes);
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
      ...(xattr && action === "attributes_changed" ? { xattr: true } : {}),
    });
  }

  /**
   * Lists a watched directory and watches the files in it that are not
   * watched yet: each is then reported as created (with the cause that led
   * here, such as the rename that moved it in). This is how a file moved into
   * the directory under a new name is found, live or on reconcile.
   */
  async #adoptNewFiles(dir: WatchEntry, causes: FimEvent[], reason: ChangeReason): Promise<void> {
    let adopted = 0;
    try {
      for await (const d of Deno.readDir(dir.path)) {
        if (!d.isFile) continue;
        const child = join(dir.path, d.name);
        if (this.watch.get(child) || this.opts.admits?.(dir, child) === false) continue;
        if (adopted++ >= MAX_ADOPTED_PER_LISTING) {
          this.opts.warn(
            `${dir.path}: more than ${MAX_ADOPTED_PER_LISTING} new files; the rest are adopted on the next listing`,
          );
          return;
        }
        this.watch.add(child, "file", dir.root);
        this.schedule(child, causes.find((c) => NAME_OPS.has(c.op)) ?? causes[0], reason);
      }
    } catch (e) {
      this.opts.warn(`cannot list ${dir.path}: ${e instanceof Error ? e.message : e}`);
    }
  }

  /** Re-reads every watched path (after dropped events, or on a timer). */
  rescan(reason: ChangeReason): void {
    for (const e of this.watch.entries()) this.schedule(e.path, undefined, reason);
  }

  /** Resolves when no path is waiting or being re-read. */
  idle(): Promise<void> {
    if (this.#queues.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  #wakeIdle(): void {
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const r of w) r();
  }

  /** Cancels pending work (on shutdown). */
  stop(): void {
    if (this.#mappedTimer !== undefined) clearInterval(this.#mappedTimer);
    this.#mapped.clear();
    for (const q of this.#queues.values()) if (q.timer !== undefined) clearTimeout(q.timer);
    this.#queues.clear();
    this.#wakeIdle();
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
  if (before.id.ino !== after.id.ino || before.id.dev !== after.id.dev) return "replaced";
  if (kind === "dir") return undefined;
  if (!stateChanged(before, after)) return undefined;
  if (before.sha256 === after.sha256 && before.size === after.size) return "attributes_changed";
  return "modified";
}

function pickCause(action: FileAction, causes: FimEvent[]): FimEvent | undefined {
  const byName = causes.find((c) => NAME_OPS.has(c.op));
  const byFd = causes.find((c) => !NAME_OPS.has(c.op));
  if (action === "modified" || action === "attributes_changed") return byFd ?? byName;
  return byName ?? byFd;
}

/** One event per process (pid and start time) among `causes`, other than `cause`'s. */
function otherWriters(cause: FimEvent | undefined, causes: FimEvent[]): FimEvent[] {
  const seen = new Set(cause ? [`${cause.tgid}:${cause.startNs}`] : []);
  const others: FimEvent[] = [];
  for (const c of causes) {
    const k = `${c.tgid}:${c.startNs}`;
    if (seen.has(k)) continue;
    seen.add(k);
    others.push(c);
  }
  return others;
}

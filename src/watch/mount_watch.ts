/**
 * Mounts against the mount tables the agent reads (its own, and the host's
 * when its namespace is another): a mount, umount or move_mount changes
 * what a watched path names only at or below a mount point whose line
 * changed, so only those paths are looked up again, naming the process
 * (mount_attribution.ts). A mount made in the host's table and not in the
 * agent's is reported on the paths it covers (`mounted_over`); one made and
 * undone before a look, in either, on the paths it covered
 * (`mounted_briefly`). FileMonitor routes the kernel's mount events here.
 *
 * @module
 */
import { FIM_DEV_MOUNT, type FimEvent } from "../kernel/fim_event.ts";
import { readMountNamespaces } from "../kernel/mount_namespace.ts";
import { monotonicNs } from "../pipeline/change_time.ts";
import type { ChangeReason, FileChange } from "../pipeline/file_change.ts";
import type { InodeId } from "./inode_key.ts";
import { mountCredit, mountTarget } from "./mount_attribution.ts";
import { type MountChanges, MountTable, underMountChanges } from "./mount_table.ts";
import { parentPath } from "./path_names.ts";
import type { WatchEntry, WatchSet } from "./watch_set.ts";

/** Mount events kept for one look (the processes credited). */
const MOUNTERS_MAX = 64;

/** How long a mount point a look found changed counts as seen (for mounted_briefly). */
const SEEN_MS = 2000;

/** What MountWatch needs of the file monitor it serves. */
export interface MountWatchHost {
  readonly watch: WatchSet;
  /** Reports a change. */
  emit(c: FileChange): void;
  /** Re-reads `path` for kernel event `cause` (FileMonitor.schedule). */
  schedule(
    path: string,
    cause: FimEvent | undefined,
    reason: ChangeReason,
    unattributed?: string,
  ): void;
  /** Handles the ring buffer's records read so far. */
  drain?(): void;
  /** Re-arms kernel key `id` after `ms`, then runs `recheck`. */
  rearmLater(id: InodeId, ms: number, recheck: () => void): void;
  /** Whether the monitor stopped. */
  stopped(): boolean;
  /** Whether `entry`'s path still has the inode and stamps last read there (lstat only). */
  unchanged(entry: WatchEntry): boolean;
  /** Names the process of an event (one process's events are one cause). */
  writerKey(e: FimEvent): string;
}

/** The mount tables a MountWatch reads, and their namespaces. */
export interface MountWatchOptions {
  /** The agent's mount table (default: /proc/self/mountinfo, first read at construction). */
  mounts?: { changes(): MountChanges | undefined };
  /**
   * The host's mount table when the agent's mount namespace is another
   * (`hostMountTable()`); undefined when they are one.
   */
  hostMounts?: { changes(): MountChanges | undefined };
  /**
   * The inode numbers of the mount namespaces of `mounts` and `hostMounts`
   * (default: readMountNamespaces()).
   */
  mountNamespaces?: ReadonlySet<bigint>;
}

/** Watches the mount tables for what moves watched paths (see the module). */
export class MountWatch {
  readonly #mounts: { changes(): MountChanges | undefined };
  readonly #hostMounts?: { changes(): MountChanges | undefined };
  /** Mount events that changed the agent's mount table: the paths under them were looked up. */
  mountRechecks = 0;
  /** Watched paths looked up again because a mount changed what was at or above them. */
  mountLookups = 0;
  /** Mount events that left the agent's mount table as it was: nothing was looked up. */
  mountsElsewhere = 0;

  /** `rearmMs`: how long the kernel folds mount events after one it sent. */
  constructor(
    readonly host: MountWatchHost,
    readonly rearmMs: number,
    opts: MountWatchOptions = {},
  ) {
    this.#mounts = opts.mounts ?? new MountTable();
    this.#hostMounts = opts.hostMounts;
    this.#mountNamespaces = opts.mountNamespaces ?? readMountNamespaces();
  }

  /** Forgets the mount events in hand (the monitor stops). */
  stop(): void {
    this.#mountFold.length = 0;
  }

  /**
   * The mount events since the kernel's mount key was last re-armed: the
   * processes whose mounts (mount, umount, move_mount) the kernel folds
   * until then (a new process always gets an event of its own, and so does
   * every mount in a namespace whose table the agent reads).
   */
  readonly #mountFold: FimEvent[] = [];
  /** A look at the mount tables is due in a microtask (onMount). */
  #mountLookDue = false;
  /** When the mount tables were last looked at (CLOCK_MONOTONIC ns); undefined before the first. */
  #mountsLookedNs: bigint | undefined = undefined;

  /**
   * mount, umount or move_mount: what a watched path resolves to may have
   * changed. Place every directory again for the kernel, and re-read the
   * paths whose inode is not the one watched, naming the process that
   * (un)mounted (mountCredit). The tables are looked at once the rest of
   * the ring buffer's batch is in (a microtask, then a drain), so that the
   * event of every mount the look can find is in hand; again at the re-arm,
   * for what the kernel folded, by the processes of the events in hand.
   */
  onMount(e: FimEvent): void {
    if (this.#mountFold.length < MOUNTERS_MAX) this.#mountFold.push(e);
    this.host.rearmLater(
      { dev: FIM_DEV_MOUNT, ino: 0n },
      this.rearmMs,
      () => this.#checkMounts(this.#mountFold.splice(0), false),
    );
    if (this.#mountLookDue) return;
    this.#mountLookDue = true;
    queueMicrotask(() => {
      this.#mountLookDue = false;
      if (this.host.stopped()) return;
      this.host.drain?.();
      this.#checkMounts(this.#mountFold, true);
    });
  }

  /**
   * Looks watched paths up again under the mount points that changed, by
   * one of `mounters`; `sent`: they are the events of those mounts (a
   * process whose event the kernel sent before the last look made its
   * change before it), else the processes of mounts the kernel folded.
   */
  #checkMounts(mounters: readonly FimEvent[], sent: boolean): void {
    // Only a change to this process's own mount table can move what a watched path names,
    // and only at or below the mount points whose lines changed (watched paths are real
    // paths, as the table's mount points are).
    const since = this.#mountsLookedNs;
    this.#mountsLookedNs = monotonicNs();
    const changes = this.#mounts.changes();
    const host = this.#hostMounts?.changes();
    const them = sent && since !== undefined
      ? mounters.filter((m) => m.tsNs === 0n || m.tsNs >= since)
      : mounters;
    const now = performance.now();
    for (const p of [changes, host].flatMap((c) => c === "all" ? ["/"] : c ?? [])) {
      this.#mountPointsSeen.delete(p);
      this.#mountPointsSeen.set(p, now);
    }
    for (const [p, at] of this.#mountPointsSeen) {
      if (now - at <= SEEN_MS) break;
      this.#mountPointsSeen.delete(p);
    }
    if (sent && changes !== "all" && host !== "all") this.#checkBriefMounts(them);
    this.#checkHostMounts(them, changes, host);
    if (changes === undefined) {
      this.mountsElsewhere++;
      return;
    }
    this.mountRechecks++;
    const under = (path: string) => underMountChanges(changes, path);
    this.host.watch.keys.refresh(this.host.watch.keys.dirs().filter(under));
    for (const entry of this.host.watch.entries()) {
      if (!under(entry.path)) continue;
      this.mountLookups++;
      if (this.host.unchanged(entry)) continue;
      const credit = mountCredit(entry.path, changes, them, this.host.writerKey);
      const who = credit.cause
        ? `${credit.cause.comm} [${credit.cause.tgid}] mounted`
        : credit.unnamed;
      this.host.schedule(
        entry.path,
        credit.cause,
        "live",
        `a mount changed what the path resolves to (${who})`,
      );
    }
  }

  /**
   * The watched entries at or below `changes`' mount points, but those below another of
   * them: the topmost speaks for what is below it (a tmpfs over /etc is one event, not one
   * per file).
   */
  #topmostUnder(changes: MountChanges): WatchEntry[] {
    const covered = this.host.watch.entries().filter((x) => underMountChanges(changes, x.path));
    const paths = new Set(covered.map((x) => x.path));
    const above = (path: string) => {
      for (let d = parentPath(path); d !== path && d !== "/"; path = d, d = parentPath(d)) {
        if (paths.has(d)) return true;
      }
      return false;
    };
    return covered.filter((x) => !above(x.path));
  }

  /** The mount namespaces whose tables this agent reads (FileMonitorOptions.mountNamespaces). */
  readonly #mountNamespaces: ReadonlySet<bigint>;

  /** Mount points a look at a table found changed, and when (performance.now()). */
  readonly #mountPointsSeen = new Map<string, number>();

  /** Mounts made and undone between two looks at the mount table (reported mounted_briefly). */
  mountsBrief = 0;

  /**
   * Mounts the kernel said were made in a mount namespace whose table the
   * agent reads, at or above watched paths, whose mount point no look found
   * changed within SEEN_MS (this one included): made and
   * undone before the look (`mount --bind evil /etc/ld.so.preload`, a
   * setuid program run, `umount`, within milliseconds). Each topmost watched
   * path under one is reported (`mounted_briefly`), naming the process: what
   * programs read there meanwhile is not known. A mount in another
   * namespace (a container's, a unit's private one) is not: those tables
   * are not the host's programs'.
   */
  #checkBriefMounts(mounters: readonly FimEvent[]): void {
    // Once a path, naming the first (the umount that undid a mount sends its own event).
    const told = new Set<string>();
    for (
      const m of [...mounters].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0))
    ) {
      if (m.ino === 0n || !this.#mountNamespaces.has(m.ino)) continue;
      const target = mountTarget(m);
      if (target === undefined) continue;
      let point = target;
      try {
        point = Deno.realPathSync(target);
      } catch {
        // gone: as the process named it
      }
      if (this.#mountPointsSeen.has(point) || this.#mountPointsSeen.has(target)) continue;
      for (const entry of this.#topmostUnder([point])) {
        if (told.has(entry.path)) continue;
        told.add(entry.path);
        this.mountsBrief++;
        this.host.emit({
          action: "mounted_briefly",
          path: entry.path,
          kind: entry.kind === "dir" ? "dir" : "file",
          root: entry.root,
          before: entry.state,
          after: entry.state,
          cause: m,
          folded: 1,
          reason: "live",
          notRead:
            `a mount at ${point} was made and undone before bpfink looked at the mount table`,
        });
      }
    }
  }

  /** Watched paths a mount in the host's namespace changed, unseen in the agent's own. */
  mountsHidden = 0;

  /**
   * A mount that changed the host's table at or above watched paths and left
   * the agent's own as it was (`own`: the agent's changes): the host's
   * programs now read another file system there than the one the agent
   * watches. Each such path is reported (`mounted_over`), naming the
   * process among `mounters` that mounted (mountCredit).
   */
  #checkHostMounts(
    mounters: readonly FimEvent[],
    own: MountChanges | undefined,
    host: MountChanges | undefined,
  ): void {
    if (host === undefined) return;
    // The mount points whose lines changed on the host and not in the agent's table (a
    // `--make-private` changes both; the mount after it, folded into the same look, only the
    // host's).
    const hidden: MountChanges = host === "all" || own === undefined || own === "all"
      ? host
      : host.filter((p) => !own.includes(p));
    for (const entry of this.#topmostUnder(hidden)) {
      this.mountsHidden++;
      const credit = mountCredit(entry.path, hidden, mounters, this.host.writerKey);
      this.host.emit({
        action: "mounted_over",
        path: entry.path,
        kind: entry.kind === "dir" ? "dir" : "file",
        root: entry.root,
        before: entry.state,
        after: entry.state,
        cause: credit.cause,
        folded: 1,
        reason: "live",
        ...(credit.cause ? {} : { unattributed: credit.unnamed }),
      });
    }
  }
}

/**
 * The live path, from a kernel event to a committed change: the watch set
 * (the live tree), the monitor that re-reads what changed, the change
 * pipeline that diffs and commits it, the watch rules, and the files
 * included by watched files. Events go out through delivery.
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";
import type { InodeId } from "../watch/inode_key.ts";
import type { FimKernel } from "../kernel/fim_kernel.ts";
import type { WatchConfig } from "../config/config_types.ts";
import { ChangePipeline, MAX_PARSE_BYTES } from "../pipeline/change_pipeline.ts";
import { hostMountTable } from "../watch/mount_table.ts";
import { consumerContext } from "../consumers/consumer_context.ts";
import { EarlyWatch } from "../watch/early_watch.ts";
import { FileMonitor } from "../watch/file_monitor.ts";
import { log } from "../log.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { BaselineStore } from "../store/baseline_store.ts";
import { WatchSet } from "../watch/watch_set.ts";
import { type FanotifySource, openFanotify, withFanotify } from "../watch/fanotify_source.ts";
import { type AncestorMarks, openAncestorMarks } from "../watch/ancestor_marks.ts";
import type { Delivery } from "./delivery.ts";
import { IncludedFiles } from "./included_files.ts";
import { warnOnceWhenFull } from "./open_kernel.ts";
import { OwnerBudget } from "../watch/owner_budget.ts";
import { readStartupBaseline, type StartupDeps, type StartupRead } from "./startup_baseline.ts";
import { type StartTargets, WatchRules } from "./watch_rules.ts";

/** What the live path is built from. */
export interface LivePathDeps {
  kernel: FimKernel;
  /** Inodes the kernel's watch map holds (users' new entries get a share: OwnerBudget). */
  watchCapacity: number;
  store: BaselineStore;
  delivery: Delivery;
  watches: WatchConfig[];
  /** Fold a path's events for this long before re-reading it. */
  settleMs?: number;
  /** While a process holds a watched file mapped shared and writable, re-read it this often. */
  mappedPollMs?: number;
  /** Host key for secret fingerprints. */
  key: Uint8Array;
  hostname: string;
  /** Sees every kernel event first; true when it took it (the self-test's canary). */
  tap(e: FimEvent): boolean;
  /** Mark watched inodes with fanotify too (default yes, unless BPFINK_FANOTIFY=0). */
  fanotify?: boolean;
  /** A classic group for files not markable by handle (default yes, unless BPFINK_FANOTIFY_FALLBACK=0). */
  fanotifyFallback?: boolean;
}

/** The watch set, monitor, pipeline and rules, wired to the kernel's events. */
export class LivePath {
  readonly watch: WatchSet;
  readonly monitor: FileMonitor;
  readonly pipeline: ChangePipeline;
  /** The kernel's own file events beside the BPF object; undefined when fanotify is unavailable. */
  readonly fanotify?: FanotifySource;
  /** Why fanotify could not be opened (coverage lost), when it could not. */
  fanotifyLost?: string;
  /** fanotify marks on the directories above watched paths (io_uring renames of them); with fanotify only. */
  readonly ancestors?: AncestorMarks;
  readonly #rules: WatchRules;
  readonly #includes: IncludedFiles;
  readonly #store: BaselineStore;
  readonly #watchCapacity: number;
  /** What the drop check found the kernel kept (DropWatch.heldFor), once the agent has one. */
  heldFor?: (dir: InodeId) => Promise<FimEvent[]> | undefined;
  #reconciles?: ReturnType<typeof setInterval>;
  readonly #kernel: FimKernel;
  #stopped = false;
  /** When the last full reconcile started and how long it took. */
  lastReconcile?: { at: Date; ms: number };
  /** Inodes watched before their first read, while the baseline is read (then undefined). */
  #early?: EarlyWatch;

  constructor(d: LivePathDeps) {
    const { kernel, store } = d;
    this.#kernel = kernel;
    this.#store = store;
    const fanWanted = d.fanotify ?? Deno.env.get("BPFINK_FANOTIFY") !== "0";
    const fan = this.fanotify = fanWanted
      ? openFanotify(
        (m) => log("fanotify").warn(m),
        (what) => this.fanotifyLost = what,
        d.fanotifyFallback ?? Deno.env.get("BPFINK_FANOTIFY_FALLBACK") !== "0",
      )
      : undefined;
    const table = fan ? withFanotify(kernel, fan, () => this.watch) : kernel;
    if (fan) {
      // Every inode the table puts in the kernel map is marked first: unmarked ones may be skipped.
      kernel.gate.allow(true);
      fan.onMarksGoing = () => kernel.gate.allow(false);
      fan.exited = (pid) => kernel.exited(pid);
    }
    const watch = this.watch = new WatchSet(table);
    const anc = this.ancestors = fan
      ? openAncestorMarks((m) => log("fanotify").warn(m))
      : undefined;
    if (anc) {
      anc.follow(watch);
      anc.exited = (pid) => kernel.exited(pid);
    }
    watch.onKernelFull = warnOnceWhenFull();
    this.#watchCapacity = d.watchCapacity;
    watch.budget = OwnerBudget.forCapacity(d.watchCapacity);
    watch.budget.onFirstRefusal = (owner, path) =>
      log("watch").warn(watch.budget!.refusal(owner, path));
    const rules = this.#rules = new WatchRules(d.watches, watch);
    const pipeline = this.pipeline = new ChangePipeline({
      store,
      hostname: d.hostname,
      ctx: consumerContext(d.key, (m) => log("consumer").warn(m)),
      ruleFor: (path) => rules.ruleFor(path),
      deliver: (events, outboxIds) => d.delivery.deliver(events, outboxIds),
      onIgnored: (c, why) => rules.ignored(c, why),
      watchAlso: (paths, consumer) => this.#includes.follow(paths, consumer),
    });
    this.#includes = new IncludedFiles({
      watch,
      rules,
      recorded: (path) => !!store.get(path),
      adopt: (path, state) => pipeline.adopt(path, state),
      stopped: () => this.#stopped,
    });
    const monitor = this.monitor = new FileMonitor(watch, {
      settleMs: d.settleMs,
      mappedPollMs: d.mappedPollMs,
      drain: () => kernel.drain(),
      behind: (about) => kernel.behind(about),
      heldFor: (dir) => this.heldFor?.(dir),
      hostMounts: hostMountTable(),
      keepContentUpTo: MAX_PARSE_BYTES,
      rearm: (id) => {
        kernel.rearm(id);
        fan?.rearm(id);
      },
      emit: (c) => pipeline.handle(c),
      warn: (m) => log("watch").warn(m),
      admits: (dir, path, isDir) => rules.admits(dir.root, path, isDir),
      matters: (dir, path) => rules.readByName(dir.root, path),
      closesReported: (path) => {
        const id = watch.get(path)?.id;
        return !!fan && id !== undefined && fan.reportsCloses(id);
      },
    });
    watch.onRoomFreed = (dir) => monitor.markDirty(dir, undefined, "live");
    fan?.start(watch, monitor);
    anc?.start(watch, monitor);
    this.#early = new EarlyWatch(kernel, watch, (e) => monitor.onKernelEvent(e), fan);
    kernel.onEvent = (e) => {
      if (d.tap(e)) return;
      if (!this.#early?.hold(e)) monitor.onKernelEvent(e);
    };
  }

  /**
   * Resolves when no re-read is queued and no fanotify event waits out its
   * grace: such an event, fed later, would schedule a re-read of its own.
   */
  async idle(): Promise<void> {
    await this.monitor.idle();
    while (this.fanotify?.waiting || this.ancestors?.waiting) {
      await this.fanotify?.settled();
      await this.ancestors?.settled();
      await this.monitor.idle();
    }
  }

  /** Re-reads every watched path now (the periodic reconcile). */
  async reconcile(): Promise<void> {
    const t0 = performance.now();
    const at = new Date();
    this.#kernel.sweepPending();
    this.monitor.rescan("reconcile");
    await this.monitor.idle();
    this.lastReconcile = { at, ms: performance.now() - t0 };
  }

  /** Reconciles every `ms` until `stop`. */
  reconcileEvery(ms: number): void {
    this.#reconciles ??= setInterval(() => this.reconcile(), ms);
  }

  /** Stops the reconciles, the monitor (its queued re-reads end) and following includes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#reconciles);
    await this.fanotify?.stop();
    await this.ancestors?.stop();
    await this.monitor.stop();
  }

  /** Registers the live path's metrics: watched inodes, the last reconcile, ignored changes. */
  register(metrics: MetricsRegistry): void {
    this.#rules.register(metrics);
    this.fanotify?.register(metrics);
    this.ancestors?.register(metrics);
    metrics.pulled(
      "bpfink_watched_inodes",
      "Watched paths that exist (each is an inode in the kernel map).",
      "gauge",
      () => this.watch.present,
    );
    metrics.pulled(
      "bpfink_watch_refused_entries",
      "Entries in watched directories left unwatched: a user other than root made more than its share of the kernel's watch map.",
      "gauge",
      () => this.watch.refused,
    );
    metrics.pulled(
      "bpfink_kernel_watch_capacity",
      "Inodes the kernel's watch maps hold (max_watches, or sized at the start from the watch set).",
      "gauge",
      () => this.#watchCapacity,
    );
    metrics.pulled(
      "bpfink_watch_not_in_kernel_total",
      "Watched paths whose inode the kernel's full watch map could not take: their changes are found by fanotify and the periodic reconcile only.",
      "counter",
      () => this.watch.notInKernel,
    );
    metrics.pulled(
      "bpfink_reads_not_whole_total",
      "Re-reads that could not read a file whole (it kept changing, it took too long, or it is over the hash limit): its metadata was compared and the event says bpfink.not_read_whole.",
      "counter",
      () => this.monitor.notReadWhole,
    );
    metrics.pulled(
      "bpfink_reads_over_hash_limit_total",
      "Re-reads of a file larger than the hash limit (1 GiB): not hashed, its metadata compared only.",
      "counter",
      () => this.monitor.notHashedLarge,
    );
    metrics.pulled(
      "bpfink_reads_here_total",
      "Re-reads of root's small files made on the main thread, each its lane's only one, so that a change of root's is not kept waiting for the event loop's turns under a flood.",
      "counter",
      () => this.monitor.readHere,
    );
    metrics.pulled(
      "bpfink_gone_after_first_read_total",
      "New files a re-read saw and a second read found gone: reported made, then removed.",
      "counter",
      () => this.monitor.goneAfterFirstRead,
    );
    metrics.pulled(
      "bpfink_transient_names_total",
      "Names the kernel said were made in a watched directory and that no read saw (gone, or replaced at the name, first): reported made and gone, or counted in a churn summary.",
      "counter",
      () => this.monitor.transientNames,
    );
    metrics.pulled(
      "bpfink_mount_rechecks_total",
      "Mounts that changed the agent's mount table: the watched paths under them were looked up again.",
      "counter",
      () => this.monitor.mountWatch.mountRechecks,
    );
    metrics.pulled(
      "bpfink_mount_lookups_total",
      "Watched paths looked up again because a mount changed what was at or above them.",
      "counter",
      () => this.monitor.mountWatch.mountLookups,
    );
    metrics.pulled(
      "bpfink_ancestor_rechecks_total",
      "Renames, removals and creations of a directory above watched paths: the paths below it were looked up again.",
      "counter",
      () => this.monitor.ancestorChanges,
    );
    metrics.pulled(
      "bpfink_mounts_elsewhere_total",
      "Mounts that left the agent's mount table as it was (another mount namespace's): nothing to look up.",
      "counter",
      () => this.monitor.mountWatch.mountsElsewhere,
    );
    metrics.pulled(
      "bpfink_mounts_hidden_total",
      "Watched paths a mount in the host's mount namespace changed, unseen in the agent's own (reported mounted_over).",
      "counter",
      () => this.monitor.mountWatch.mountsHidden,
    );
    metrics.pulled(
      "bpfink_mounts_brief_total",
      "Watched paths a mount in the agent's (or the host's) mount namespace covered and uncovered before the agent looked (reported mounted_briefly).",
      "counter",
      () => this.monitor.mountWatch.mountsBrief,
    );
    metrics.pulled(
      "bpfink_last_reconcile_timestamp_seconds",
      "When the last full reconcile started.",
      "gauge",
      () => (this.lastReconcile?.at.getTime() ?? 0) / 1000,
    );
    metrics.pulled(
      "bpfink_last_reconcile_duration_seconds",
      "How long the last full reconcile took.",
      "gauge",
      () => (this.lastReconcile?.ms ?? 0) / 1000,
    );
  }

  /**
   * Delivers what the last run committed but did not deliver, then watches
   * and reads every target (startup_baseline.ts) and the files they include.
   */
  async start(
    targets: StartTargets,
    opts: Pick<StartupDeps, "signal" | "onProgress" | "reader">,
  ): Promise<StartupRead> {
    const n = await this.pipeline.redeliver();
    if (n) {
      log("store").warn(`delivered ${n} events committed but not delivered before the last stop`);
    }
    const release = this.#includes.hold();
    let read: StartupRead;
    try {
      read = await readStartupBaseline({
        ...opts,
        watch: this.watch,
        store: this.#store,
        pipeline: this.pipeline,
        baselined: (path) => this.monitor.baselined(path),
        early: this.#early,
      }, targets);
    } finally {
      release();
    }
    this.#early = undefined;
    await this.#includes.idle();
    return read;
  }
}

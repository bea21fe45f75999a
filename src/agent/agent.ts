/**
 * The running agent: wires the kernel object, the live path (watch set,
 * monitor, change pipeline), delivery, the self-test and the timers
 * together, starts them in order, and stops them in reverse. Each part owns
 * its logic and registers its own metrics.
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";
import type { FimKernel } from "../kernel/fim_kernel.ts";
import { giveBackMemory } from "../bpf/give_back_memory.ts";
import { pageOutCode } from "../bpf/page_out_code.ts";
import { registerKernelMetrics } from "../kernel/kernel_metrics.ts";
import { type RunTimeStats, statsSysctlEnabled } from "../bpf/prog_stats.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { type KernelFacts, readKernelFacts } from "../kernel/kernel_facts.ts";
import type { Trial } from "../kernel/strategy_choice.ts";
import { log } from "../log.ts";
import { registerAgentMetrics } from "../metrics/agent_metrics.ts";
import { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { NOT_IN_OUTBOX } from "../store/baseline_store.ts";
import { ephemeralHostKey, loadOrCreateHostKey } from "../store/host_key.ts";
import { checkHostKey } from "../store/key_check.ts";
import { keyXattrDigests } from "../watch/extra_attrs.ts";
import { registerStoreMetrics } from "../store/store_metrics.ts";
import { VERSION } from "../version.ts";
import type { WatchSet } from "../watch/watch_set.ts";
import type { AgentOptions } from "./agent_options.ts";
import { Delivery } from "./delivery.ts";
import { DropWatch } from "./drop_watch.ts";
import { FaultBoard } from "./failure_policy.ts";
import { Heartbeat } from "./heartbeat.ts";
import { LivePath } from "./live_path.ts";
import { FIRST_BASELINE_KEY, type StartupRead } from "./startup_baseline.ts";
import {
  holdBpfStats,
  type OpenedKernel,
  openKernel,
  releaseEmbeddedAssets,
} from "./open_kernel.ts";
import { type OpenedStore, openStore } from "./open_store.ts";
import { ParallelReader } from "../watch/parallel_reader.ts";
import { raiseOpenFileLimit } from "../open_file_limit.ts";
import { preflight } from "./preflight.ts";
import { QuietGiveBack } from "./quiet_give_back.ts";
import { SelfTest, type SelfTestFindings } from "./self_test.ts";
import { startRecord } from "./start_record.ts";
import { baselineResetEvent, selfTestFailedEvent, storeEvents } from "./store_events.ts";
import { resolveWatches } from "./watch_rules.ts";
import type { PumpQueueStats } from "../fanotify/fd_pump.ts";

export { type AgentOptions, watchesForPaths } from "./agent_options.ts";

/**
 * When memory is given back once more after the start returned (QuietGiveBack.afterStart):
 * long after the hashing workers' threads have exited, before anyone measures an armed agent.
 */
const AFTER_START_GIVE_BACK_MS = 1000;

/** Whether `path` exists. */
function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether the file at `path` exists and holds something (SQLite writes its header at once). */
function hasContent(path: string): boolean {
  try {
    return Deno.lstatSync(path).size > 0;
  } catch {
    return false;
  }
}

/** A running agent. */
export class Agent {
  readonly hostname = Deno.hostname();
  readonly watch: WatchSet;
  /** Which libbpf was loaded. */
  readonly libbpf: string;
  /** Every strategy tried at start, and its outcome. */
  readonly trials: Trial[];
  /** How the startup read of every watched path went (set once it is done). */
  startRead?: StartupRead;
  /** The chosen kernel object. */
  readonly kernel: FimKernel;
  readonly #db: OpenedStore;
  readonly #delivery: Delivery;
  readonly #live: LivePath;
  readonly #selfTest: SelfTest;
  readonly #drops: DropWatch;
  readonly #heartbeat: Heartbeat;
  #bpfStats?: RunTimeStats;
  #quiet?: QuietGiveBack;
  #stopped = false;
  /** The start record, given again to each file a SIGHUP opens. */
  #started?: ChangeEvent;

  private constructor(
    readonly opts: AgentOptions,
    readonly facts: KernelFacts,
    readonly metrics: MetricsRegistry,
    /** Accessory faults (failure_policy.ts): logged, counted, retried; monitoring goes on. */
    readonly faults: FaultBoard,
    opened: OpenedKernel,
    db: OpenedStore,
    key: Uint8Array,
  ) {
    const { kernel, lib, trials, watchCapacity } = opened;
    const { hostname } = this;
    const store = (this.#db = db).store;
    this.kernel = kernel;
    this.trials = trials;
    this.libbpf = `${lib.path} (libbpf ${lib.version})`;
    const delivery = this.#delivery = new Delivery(opts.outputs, store, undefined, faults);
    const tap = (e: FimEvent) => this.#selfTest.tap(e);
    const parts = { kernel, store, delivery, key, hostname, tap, watchCapacity };
    const live = this.#live = new LivePath({ ...opts, ...parts });
    const watch = this.watch = live.watch;
    // What the baseline is while the database cannot be read: the watched paths' last states
    // (the store keeps parsed and fingerprinted files' records itself).
    store.memory = {
      paths: () => watch.entries().filter((e) => e.exists).map((e) => e.path),
      get: (path) => {
        const state = watch.get(path)?.state;
        return state ? live.pipeline.recordOf(path, state, undefined) : undefined;
      },
    };
    const selfTest = this.#selfTest = new SelfTest({
      kernel,
      watch,
      onFailure: (found) => this.#agentEvent(selfTestFailedEvent(found, hostname), true),
    });
    this.#drops = new DropWatch(
      kernel,
      (causes, only) => live.monitor.rescan("rescan", causes, only),
      opts.dropCheckMs,
    );
    live.heldFor = (dir) => this.#drops.heldFor(dir);
    this.#heartbeat = new Heartbeat(hostname, kernel, watch, (e) => this.#agentEvent(e, false));
    for (const p of [live, delivery, selfTest, this.#drops, this.#heartbeat]) p.register(metrics);
    registerKernelMetrics(metrics, kernel, () => !!this.#bpfStats || statsSysctlEnabled());
    registerStoreMetrics(metrics, store, () => delivery.redelivering);
    registerAgentMetrics(metrics, {
      version: VERSION,
      strategy: kernel.spec.name,
      object: kernel.spec.object,
      fallbacks: () => opts.force ? 0 : trials.filter((t) => t.outcome === "rejected").length,
    });
    if (opts.selfTestIntervalMs) selfTest.every(opts.selfTestIntervalMs);
    if (opts.heartbeatIntervalMs) this.#heartbeat.every(opts.heartbeatIntervalMs);
    // Checked when the kernel has spoken: nothing here wakes an idle agent on a timer.
    kernel.onRecords = (polled) => {
      // Between the poll loop's batches, not inside a drain the monitor itself asked for.
      if (polled) live.monitor.runDue();
      this.#drops.poke();
      this.#quiet?.poke();
    };
    this.#drops.poke();
    if (opts.reconcileIntervalMs) live.reconcileEvery(opts.reconcileIntervalMs);
  }

  /** Starts the agent: preflight, kernel object, watches, baseline, start record. */
  static async start(opts: AgentOptions): Promise<Agent> {
    // The process's only agent takes what descriptors its hard limit allows (src/open_file_limit.ts).
    if (opts.soleAgent) {
      const { warning } = raiseOpenFileLimit();
      if (warning) log("agent").warn(warning);
    }
    const facts = readKernelFacts(opts.btf);
    preflight(facts, opts.btf);
    const targets = await resolveWatches(opts.watches);
    opts.signal?.throwIfAborted();
    // A host key with no database: a start before this one recorded a baseline that is gone.
    const lostBaseline = opts.keyFile && opts.database && exists(opts.keyFile) &&
      !hasContent(opts.database);
    const key = opts.keyFile ? loadOrCreateHostKey(opts.keyFile) : ephemeralHostKey();
    // Extended attributes' value digests are keyed by it from the first read on.
    keyXattrDigests(key);
    const metrics = new MetricsRegistry();
    const faults = new FaultBoard(metrics);
    // A database found unusable while running is rebuilt, and said so once (baseline_reset).
    const resets: { send?: (e: ChangeEvent) => void; early: ChangeEvent[] } = { early: [] };
    const db = openStore(opts.database, faults, (reset) => {
      const e = baselineResetEvent(db.store.path, reset, Deno.hostname());
      if (resets.send) resets.send(e);
      else resets.early.push(e); // sent once the agent has started
    }, { outboxMaxBytes: opts.outboxMaxBytes, userTextMaxBytes: opts.userTextMaxBytes });
    if (lostBaseline && !db.store.reset) {
      db.store.reset = {
        reason: `the database was missing or empty while the host key ${opts.keyFile} was not: ` +
          `the baseline an earlier start recorded was lost`,
        rebuiltFrom: "files",
      };
    } else if (db.store.meta(FIRST_BASELINE_KEY) !== undefined && !db.store.reset) {
      db.store.reset = {
        reason: "the first baseline did not finish (bpfink stopped during it)",
        rebuiltFrom: "unfinished",
      };
    }
    // The hashing workers start now, on the other cores, while the kernel object loads here.
    const reader = ParallelReader.for(targets.targets.length + targets.missing.length);
    let opened: OpenedKernel;
    let keyChanged: boolean;
    let agent: Agent;
    try {
      opened = await openKernel(opts, facts, targets)
        .catch((e) => {
          db.close();
          throw e;
        });
      keyChanged = opts.keyFile ? checkHostKey(db.store, key) : false;
      agent = new Agent(opts, facts, metrics, faults, opened, db, key);
    } catch (e) {
      reader.close();
      throw e;
    }
    const { kernel, lib } = opened;
    agent.#bpfStats = holdBpfStats(lib, opts.bpfStats ?? Deno.env.get("BPFINK_BPF_STATS") === "1");
    for (const l of kernel.lost) log("kernel").warn(`coverage lost: ${l.lost} (${l.error})`);
    // The kernel object is loaded: the embedded objects and the code that loaded it (module
    // loading, libbpf's loader, the probes) are not needed again. Let go now, before the first
    // baseline, their pages are not part of its peak (26 MiB of Deno's binary at 100,000 files);
    // what the read runs faults back in.
    if (opts.soleAgent) {
      releaseEmbeddedAssets();
      pageOutCode();
    }
    try {
      agent.startRead = await agent.#live.start(targets, { ...opts, reader });
      opts.signal?.throwIfAborted();
    } catch (e) {
      reader.close();
      await agent.stop();
      throw e;
    }
    // Through delivery: an output that drops the start record gets it again (redelivery.ts).
    const { hostname, libbpf, watch } = agent;
    const alsoLost = agent.#live.fanotifyLost ? [agent.#live.fanotifyLost] : [];
    const started = startRecord({
      release: facts.release,
      kernel,
      watch,
      libbpf,
      hostname,
      alsoLost,
      read: agent.startRead,
    });
    agent.#started = started;
    agent.#delivery.deliver([started], [NOT_IN_OUTBOX]);
    // Starting (BTF parsing, objects tried, the first read of every file) is the peak, and
    // so is each burst of kernel events: memory is given back now, once the start record is
    // out (a full collection after 100,000 files takes ~90 ms, which delayed it), and after
    // each burst. Signals that come meanwhile wait for it.
    giveBackMemory();
    // The first baseline's code does not run again either: its pages go back now too, where
    // the process is this agent's alone (page_out_code.ts).
    if (opts.soleAgent) {
      agent.metrics.gauge(
        "bpfink_start_code_paged_out_bytes",
        "Read-only file mappings (code) advised out once the agent was armed; 0 where the kernel cannot.",
      ).set(pageOutCode());
    }
    // Work is kernel events and reports: a mass change's re-reads report for many seconds after
    // its last kernel event, and a give-back then stalled them (a full collection of 240 MiB,
    // 200-240 ms, bench/mass_change.ts).
    agent.#quiet = new QuietGiveBack({
      activity: () => Number(kernel.counter("events")) + agent.#delivery.published,
    });
    agent.#quiet.afterStart(AFTER_START_GIVE_BACK_MS);
    for (const e of storeEvents(db.store, hostname, keyChanged)) agent.#agentEvent(e, true);
    resets.send = (e) => {
      agent.#agentEvent(e, true);
      // A database written anew from memory has no event history: the start record goes
      // back into it (the history output only), so status still says what the agent is.
      if (e.bpfink?.rebuilt_from === "memory") {
        for (const o of opts.outputs) if (o.name === "history") o.write(started);
      }
    };
    for (const e of resets.early.splice(0)) resets.send(e);
    return agent;
  }

  /** Publishes an agent event; `durable` ones go through the outbox. */
  #agentEvent(e: ChangeEvent, durable: boolean): void {
    if (this.#stopped) return;
    const id = durable ? this.#db.store.commit([], [e])[0].id : NOT_IN_OUTBOX;
    this.#delivery.deliver([e], [id]);
  }

  /**
   * SIGHUP (logrotate moved the files away): reopens the outputs that write
   * files, and gives each new file the start record. Returns their names.
   */
  reopenOutputs(): string[] {
    const reopened = this.opts.outputs.filter((o) => o.reopen);
    for (const o of reopened) o.reopen?.();
    if (this.#started && reopened.length && !this.#stopped) {
      this.#delivery.deliverTo(reopened, this.#started, NOT_IN_OUTBOX);
    }
    return reopened.map((o) => o.name);
  }

  /** Runs a self-test now (also run every `selfTestIntervalMs`). */
  selfTest(): Promise<SelfTestFindings> {
    return this.#selfTest.run();
  }

  /** Re-reads every watched path now (the periodic reconcile). */
  reconcile(): Promise<void> {
    return this.#live.reconcile();
  }

  /** Rescans caused by dropped events: of every watch, or of only the inodes the kernel held. */
  get rescans(): number {
    return this.#drops.rescans;
  }

  /** Of `rescans`, those of only the inodes the kernel held. */
  get heldRescans(): number {
    return this.#drops.heldRescans;
  }

  /** Watches that rescans caused by dropped events re-read. */
  get rescannedWatches(): number {
    return this.#drops.rescannedWatches;
  }

  /**
   * fanotify queue overflows, each a rescan of every watch: the watched paths' group's and that
   * of the directories above them.
   */
  get fanotifyOverflows(): number {
    const live = this.#live;
    return (live.fanotify?.counts.overflows ?? 0) + (live.ancestors?.counts.overflows ?? 0);
  }

  /** fanotify's pump's queue for the watched paths' group (fd_pump.ts); undefined with no fanotify. */
  get fanotifyQueue(): PumpQueueStats | undefined {
    return this.#live.fanotify?.group.pumpQueue;
  }

  /** The baseline database's path (a temporary one unless `database` was given). */
  get database(): string {
    return this.#db.store.path;
  }

  /**
   * Resolves when every queued re-read is done, and no fanotify event waits
   * for the BPF event of its change (it would queue a re-read of its own).
   */
  idle(): Promise<void> {
    return this.#live.idle();
  }

  /** Resolves when the ring buffer stops (rejects when polling failed). */
  get done(): Promise<void> {
    return this.kernel.done;
  }

  /** Detaches every program, frees the object and closes outputs. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#drops.stop();
    this.#heartbeat.stop();
    this.#quiet?.stop();
    this.#delivery.stopRetrying();
    await this.#selfTest.stop();
    await this.#live.stop();
    await this.kernel.close();
    this.#bpfStats?.close();
    for (const o of this.opts.outputs) await o.close();
    this.#delivery.stopAcking();
    this.#db.close();
  }
}

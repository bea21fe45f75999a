/**
 * The running agent: picks and attaches a kernel object, watches the paths,
 * turns kernel events into change events, rescans on drops, and detaches
 * everything on stop.
 *
 * @module
 */
import { dirname, relative } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import type { StrategyName } from "../../kernels/strategies.ts";
import { EMBEDDED_LIBBPF, EMBEDDED_OBJECTS } from "../../kernels/build/embedded.ts";
import type { FimKernel } from "../bpf/fim_kernel.ts";
import { giveBackMemory } from "../bpf/give_back_memory.ts";
import { RunTimeStats, statsSysctlEnabled } from "../bpf/prog_stats.ts";
import { programStatsMetrics } from "../bpf/prog_stats_metrics.ts";
import { type Libbpf, LibbpfUnavailableError, openLibbpf } from "../bpf/libbpf.ts";
import { libbpfCandidates } from "../bpf/libbpf_locate.ts";
import { ChangePipeline, MAX_PARSE_BYTES, type PathRule } from "../consumers/change_pipeline.ts";
import { consumerContext } from "../consumers/consumer_context.ts";
import { consumerNameFor } from "../consumers/registry.ts";
import { CONFIG_DEFAULTS } from "../config/load_config.ts";
import type { ConsumerName, WatchConfig } from "../config/config_types.ts";
import { BaselineStore, NOT_IN_OUTBOX, stateOfRecord } from "../store/baseline_store.ts";
import { registerStoreMetrics } from "../store/store_metrics.ts";
import { checkHostKey } from "../store/key_check.ts";
import { ephemeralHostKey, loadOrCreateHostKey } from "../store/host_key.ts";
import type { ChangeEvent } from "../events/change_event.ts";
import { withEnvelope } from "../events/ecs_event.ts";
import { watchPolicy } from "../events/watch_policy.ts";
import { classify, FileMonitor } from "../events/file_monitor.ts";
import { EarlyWatch } from "../events/early_watch.ts";
import { FIM_INODE_EVENT_SIZE } from "../bpf/fim_event.ts";
import { type KernelFacts, readKernelFacts } from "../kernel/kernel_facts.ts";
import { chooseStrategy, type Trial } from "../kernel/strategy_choice.ts";
import { log } from "../log.ts";
import {
  LabeledCounter,
  MetricsRegistry,
  processUsage,
  Pulled,
} from "../metrics/metrics_registry.ts";
import type { Output } from "../outputs/output.ts";
import { registerAgentMetrics } from "../metrics/agent_metrics.ts";
import { QueuedOutput } from "../outputs/queued_output.ts";
import { type FileState, readFileState, withoutContent } from "../watch/file_state.ts";
import { resolveTargets, type WatchTarget } from "../watch/watch_targets.ts";
import { WatchSet } from "../watch/watch_set.ts";
import { globMatcher } from "../watch/glob.ts";
import { AgentError } from "./agent_error.ts";
import { FaultBoard } from "./failure_policy.ts";
import { type Redelivery, RedeliveryQueue } from "./redelivery.ts";
import { heartbeatEvent, selfTestFailedEvent, storeEvents } from "./store_events.ts";
import { SelfTest, type SelfTestFindings } from "./self_test.ts";
import { preflight } from "./preflight.ts";
import { QuietGiveBack } from "./quiet_give_back.ts";

/** Version reported in the start record (from deno.json). */
export const VERSION: string = denoJson.version;

/** How to run the agent. */
export interface AgentOptions {
  watches: WatchConfig[];
  outputs: Output[];
  /** Baseline database; default a temporary one, removed on stop (interactive). */
  database?: string;
  /** Host key for secret fingerprints; default a key that lives as long as the process. */
  keyFile?: string;
  /** Re-read every watch this often (0 or undefined: never). */
  reconcileIntervalMs?: number;
  /** Only try this strategy (`--probe`). */
  force?: StrategyName;
  /** BTF file for CO-RE instead of /sys/kernel/btf/vmlinux. */
  btf?: string;
  /** libbpf to dlopen instead of the embedded/host one. */
  libbpf?: string;
  /** Fold a path's events for this long before re-reading it. */
  settleMs?: number;
  /** How often to check the kernel's drop counter. */
  dropCheckMs?: number;
  /** Entries of the kernel's watch maps (default: twice the watch set, at least 65536). */
  maxWatches?: number;
  /** Self-test through the live path this often (0 or undefined: never). */
  selfTestIntervalMs?: number;
  /** Heartbeat event and metric this often (0 or undefined: never). */
  heartbeatIntervalMs?: number;
  /** Aborts the start at its next step (SIGINT/SIGTERM during startup); `start` then throws it. */
  signal?: AbortSignal;
  /** Hold BPF run-time statistics on (default: `BPFINK_BPF_STATS=1`); costs ~2 clock reads per program run. */
  bpfStats?: boolean;
  /** Called while the first baseline is read: files done, files in all, bytes hashed. */
  onProgress?: (done: number, total: number, bytes: number) => void;
}

/** Watch rules for plain paths (`--paths`). */
export function watchesForPaths(paths: string[], recursive = false): WatchConfig[] {
  return paths.map((path) => ({
    path,
    recursive,
    include: [],
    exclude: [],
    secret: false,
    diffMaxBytes: CONFIG_DEFAULTS.diffMaxBytes,
  }));
}

/** Opens libbpf or explains why it cannot be. */
export function loadLibbpf(explicit?: string): Libbpf {
  try {
    return openLibbpf(libbpfCandidates({ explicit, embedded: EMBEDDED_LIBBPF }));
  } catch (e) {
    if (e instanceof LibbpfUnavailableError) throw new AgentError(e.message);
    throw e;
  }
}

/**
 * Ring buffer size for `n` watched paths: the kernel holds at most one
 * pending inode event per watched inode, so every watched file changing at
 * once fits twice over, plus room for name events (which are not folded).
 */
export function ringBytesFor(n: number): number {
  const need = 2 * n * (FIM_INODE_EVENT_SIZE + 8) + 512 * 1024;
  return 2 ** Math.ceil(Math.log2(Math.max(1 << 20, need)));
}

/** A running agent. */
export class Agent {
  #kernel: FimKernel;
  #monitor: FileMonitor;
  /** Inodes watched before their first read, while the baseline is read (then undefined). */
  #early?: EarlyWatch;
  #pipeline: ChangePipeline;
  #store: BaselineStore;
  #rules = new Map<string, WatchConfig>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #lastDrops = 0n;
  #stopped = false;
  #storeClosed = false;
  #adding: Promise<void> = Promise.resolve();
  #bpfStats?: RunTimeStats;
  #tempDir?: string;
  readonly watch: WatchSet;
  readonly hostname = Deno.hostname();
  /** The agent's metrics (Prometheus endpoint, Graphite push). */
  readonly metrics = new MetricsRegistry();
  /** Accessory faults (failure_policy.ts): logged, counted, retried; monitoring goes on. */
  readonly faults = new FaultBoard(this.metrics);
  #eventsByAction = new LabeledCounter(
    "bpfink_events_total",
    "Change events reported, by event.action.",
  );
  #ignored = new LabeledCounter(
    "bpfink_events_ignored_total",
    "Changes an ignore rule kept from being reported (baseline still updated), by rule kind.",
    ["reason"],
  );
  /** Rescans caused by dropped events. */
  rescans = 0;
  /** The baseline database's path (a temporary one unless `database` was given). */
  get database(): string {
    return this.#store.path;
  }

  /** Which libbpf was loaded. */
  libbpf = "";
  /** When the last full reconcile started and how long it took. */
  lastReconcile?: { at: Date; ms: number };

  private constructor(
    readonly opts: AgentOptions,
    readonly facts: KernelFacts,
    readonly trials: Trial[],
    kernel: FimKernel,
    store: BaselineStore,
    key: Uint8Array,
  ) {
    this.#kernel = kernel;
    this.#store = store;
    for (const o of opts.outputs) {
      if (o instanceof QueuedOutput) o.onSettled = (events, ok) => this.#settled(o, events, ok);
    }
    for (const w of opts.watches) this.#rules.set(w.path, w);
    this.watch = new WatchSet(kernel);
    let warned = false;
    this.watch.onKernelFull = (e) => {
      if (warned) return;
      warned = true;
      log("kernel").warn(
        `the kernel watch map is full (${
          e instanceof Error ? e.message.split("\n")[0] : e
        }): further paths are ` +
          `checked only by the periodic reconcile; watch fewer files or split the tree`,
      );
    };
    this.#pipeline = new ChangePipeline({
      store,
      hostname: this.hostname,
      ctx: consumerContext(key, (m) => log("consumer").warn(m)),
      ruleFor: (path) => this.#ruleFor(path),
      deliver: (events, outboxIds) => this.#deliver(events, outboxIds),
      onIgnored: (c, why) => {
        this.#ignored.inc({ reason: why.split(" ")[0] });
        log("consumer").debug(`${c.path} ${c.action}: not reported (ignore rule: ${why})`);
      },
      watchAlso: (paths, consumer) => {
        this.#adding = this.#adding.then(() => this.#watchMore(paths, consumer)).catch((e) =>
          log("watch").warn(`cannot watch included files: ${e instanceof Error ? e.message : e}`)
        );
      },
    });
    this.#monitor = new FileMonitor(this.watch, {
      settleMs: opts.settleMs,
      keepContentUpTo: MAX_PARSE_BYTES,
      rearm: (id) => kernel.rearm(id),
      emit: (c) => this.#pipeline.handle(c),
      warn: (m) => log("watch").warn(m),
      admits: (dir, path, isDir) => this.#admits(dir.root, path, isDir),
    });
    this.#selfTest = new SelfTest({
      kernel,
      watch: this.watch,
      onFailure: (found) => this.#agentEvent(selfTestFailedEvent(found, this.hostname), true),
    });
    this.#early = new EarlyWatch(kernel, this.watch, (e) => this.#monitor.onKernelEvent(e));
    kernel.onEvent = (e) => {
      this.#work++;
      if (this.#selfTest.tap(e)) return;
      if (!this.#early?.hold(e)) this.#monitor.onKernelEvent(e);
    };
    this.#selfTest.register(this.metrics);
    if (opts.selfTestIntervalMs) this.#selfTest.every(opts.selfTestIntervalMs);
    if (opts.heartbeatIntervalMs) {
      this.#timers.push(setInterval(() => this.#heartbeat(), opts.heartbeatIntervalMs));
    }
    this.metrics.add(
      new Pulled(
        "bpfink_heartbeat_timestamp_seconds",
        "When the agent last sent its heartbeat event (alert when it stops moving).",
        "gauge",
        () => this.#lastHeartbeat / 1000,
      ),
    );
    this.#registerMetrics();
    registerStoreMetrics(this.metrics, store, () => this.#redelivery.size);
    this.#timers.push(setInterval(() => this.#checkDrops(), opts.dropCheckMs ?? 250));
    if (opts.reconcileIntervalMs) {
      this.#timers.push(setInterval(() => this.reconcile(), opts.reconcileIntervalMs));
    }
  }

  #registerMetrics(): void {
    const m = this.metrics;
    const k = this.#kernel;
    m.add(this.#eventsByAction);
    m.add(this.#ignored);
    for (const x of programStatsMetrics(k, () => !!this.#bpfStats || statsSysctlEnabled())) {
      m.add(x);
    }
    registerAgentMetrics(m, {
      version: VERSION,
      strategy: k.spec.name,
      object: k.spec.object,
      fallbacks: () =>
        this.opts.force ? 0 : this.trials.filter((t) => t.outcome === "rejected").length,
      outboxBacklog: () => this.#outbox.size,
      outputs: () => this.opts.outputs,
    });
    m.add(
      new Pulled(
        "bpfink_ringbuf_drops_total",
        "Kernel events lost to a full ring buffer (each one triggers a rescan).",
        "counter",
        () => Number(k.counters().drops),
      ),
    );
    m.add(
      new Pulled(
        "bpfink_kernel_events_total",
        "Events the kernel side submitted.",
        "counter",
        () => Number(k.counters().events),
      ),
    );
    m.add(
      new Pulled(
        "bpfink_kernel_coalesced_total",
        "Repeats of an operation already reported for the same process, folded in the kernel.",
        "counter",
        () => Number(k.counters().coalesced),
      ),
    );
    m.add(
      new Pulled(
        "bpfink_rescans_total",
        "Full rescans after dropped events.",
        "counter",
        () => this.rescans,
      ),
    );
    m.add(
      new Pulled(
        "bpfink_watched_inodes",
        "Watched paths that exist (each is an inode in the kernel map).",
        "gauge",
        () => this.watch.present,
      ),
    );
    m.add(
      new Pulled(
        "bpfink_kernel_object_info",
        "The kernel object in use.",
        "gauge",
        () => [{ labels: { strategy: k.spec.name, object: k.spec.object }, value: 1 }],
      ),
    );
    const sinks = (field: "sent" | "dropped") => () =>
      this.opts.outputs.filter((o) => o instanceof QueuedOutput).map((o) => ({
        labels: { output: o.name },
        value: (o as QueuedOutput).counters[field],
      }));
    m.add(
      new Pulled(
        "bpfink_sink_sent_total",
        "Events delivered, by output.",
        "counter",
        sinks("sent"),
      ),
    );
    m.add(
      new Pulled(
        "bpfink_sink_dropped_total",
        "Events an output could not deliver (full buffer or gave up).",
        "counter",
        sinks("dropped"),
      ),
    );
    m.add(
      new Pulled(
        "bpfink_last_reconcile_timestamp_seconds",
        "When the last full reconcile started.",
        "gauge",
        () => (this.lastReconcile?.at.getTime() ?? 0) / 1000,
      ),
    );
    m.add(
      new Pulled(
        "bpfink_last_reconcile_duration_seconds",
        "How long the last full reconcile took.",
        "gauge",
        () => (this.lastReconcile?.ms ?? 0) / 1000,
      ),
    );
    m.add(
      new Pulled(
        "process_resident_memory_bytes",
        "Resident memory of the agent.",
        "gauge",
        () => processUsage().rssBytes,
      ),
    );
    m.add(
      new Pulled(
        "process_cpu_seconds_total",
        "CPU time of the agent.",
        "counter",
        () => processUsage().cpuSeconds,
      ),
    );
  }

  /** Starts the agent: preflight, kernel object, watches, baseline, start record. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const facts = readKernelFacts(opts.btf);
    preflight(facts, opts.btf);
    const targets: WatchTarget[] = [];
    const missing: WatchTarget[] = [];
    for (const w of opts.watches) {
      const r = await resolveTargets([w.path], {
        recursive: w.recursive,
        include: w.include,
        exclude: w.exclude,
      });
      for (const m of r.warnings) log("watch").warn(m);
      targets.push(...r.targets);
      missing.push(...r.missing);
    }
    opts.signal?.throwIfAborted();
    if (targets.length === 0) {
      throw new AgentError(
        `none of the paths exist: ${opts.watches.map((w) => w.path).join(", ")}`,
        2,
      );
    }
    const key = opts.keyFile ? loadOrCreateHostKey(opts.keyFile) : ephemeralHostKey();
    // Interactive mode gets a temporary database on disk: the baseline and the text kept for
    // line diffs then live in SQLite's file, not in the process's memory.
    const tempDir = opts.database ? undefined : Deno.makeTempDirSync({ prefix: "bpfink-db-" });
    const dropTemp = () => tempDir && Deno.removeSync(tempDir, { recursive: true });
    const ref: { agent?: Agent } = {};
    let store: BaselineStore;
    try {
      store = BaselineStore.open(opts.database ?? `${tempDir}/baseline.db`, {
        faults: {
          fault: (...a) => ref.agent?.faults.fault(...a),
          recovered: (...a) => ref.agent?.faults.recovered(...a),
        },
      });
    } catch (e) {
      dropTemp();
      throw e;
    }
    let lib: Libbpf;
    let choice: Awaited<ReturnType<typeof chooseStrategy>>;
    try {
      lib = loadLibbpf(opts.libbpf);
      choice = await chooseStrategy(lib, facts, {
        objects: EMBEDDED_OBJECTS,
        force: opts.force,
        btfCustomPath: opts.btf,
        // Room for the watch set twice over (files appear in watched trees), at least 64k.
        maxWatches: opts.maxWatches ??
          Math.max(65_536, 2 ** Math.ceil(Math.log2(2 * (targets.length + missing.length)))),
        ringBytes: ringBytesFor(targets.length + missing.length),
        onEvent: () => {},
      });
    } catch (e) {
      store.close();
      dropTemp();
      throw e;
    }
    if (opts.signal?.aborted) {
      await choice.kernel?.close();
      store.close();
      dropTemp();
      opts.signal.throwIfAborted();
    }
    if (!choice.kernel) {
      store.close();
      dropTemp();
      const why = choice.trials.filter((t) => t.outcome === "rejected").map((t) =>
        `${t.strategy}: ${t.reason}`
      );
      throw new AgentError(
        `no kernel object works on this kernel (${facts.release}): ${why.join("; ")}. ` +
          `Run "bpfink kernels" for details.`,
      );
    }
    const keyChanged = opts.keyFile ? checkHostKey(store, key) : false;
    const agent = new Agent(opts, facts, choice.trials, choice.kernel, store, key);
    agent.#tempDir = tempDir;
    ref.agent = agent;
    agent.libbpf = `${lib.path} (libbpf ${lib.version})`;
    if (opts.bpfStats ?? Deno.env.get("BPFINK_BPF_STATS") === "1") {
      try {
        agent.#bpfStats = RunTimeStats.enable(lib);
      } catch (e) {
        log("kernel").warn(`cannot enable BPF statistics: ${e instanceof Error ? e.message : e}`);
      }
    }
    for (const l of choice.kernel.lost) log("kernel").warn(`coverage lost: ${l.lost} (${l.error})`);
    try {
      const n = agent.#pipeline.redeliver();
      if (n) {
        log("store").warn(`delivered ${n} events committed but not delivered before the last stop`);
      }
      await agent.#baseline(targets, missing);
      await agent.#adding;
      opts.signal?.throwIfAborted();
    } catch (e) {
      await agent.stop();
      throw e;
    }
    // Starting (BTF parsing, objects tried, the first read of every file) is the peak;
    // idling needs a fraction of it. Before the start record: whoever waits for it (a
    // supervisor, a test sending SIGINT) finds the agent ready for signals.
    giveBackMemory();
    // From now on, memory that a burst of events grew is given back once it is over.
    agent.#quiet = new QuietGiveBack({ activity: () => agent.#work });
    // Through #deliver: an output that drops the start record gets it again (redelivery.ts).
    agent.#deliver([agent.#startRecord()], [NOT_IN_OUTBOX]);
    for (const e of storeEvents(store, agent.hostname, keyChanged)) {
      const [q] = store.commit([], [e]);
      agent.#deliver([e], [q.id]);
    }
    return agent;
  }

  readonly #selfTest: SelfTest;
  /** Kernel events, deliveries and settlements so far: moves while the agent works. */
  #work = 0;
  #quiet?: QuietGiveBack;
  /** The start record is the first sign of life. */
  #lastHeartbeat = Date.now();

  /** Runs a self-test now (also run every `selfTestIntervalMs`). */
  selfTest(): Promise<SelfTestFindings> {
    return this.#selfTest.run();
  }

  #heartbeat(): void {
    this.#lastHeartbeat = Date.now();
    const k = this.#kernel;
    this.#agentEvent(
      heartbeatEvent(this.hostname, {
        watched_paths: this.watch.present,
        strategy: k.spec.name,
        programs: k.attached,
      }),
      false,
    );
  }

  /** Publishes an agent event; `durable` ones go through the outbox. */
  #agentEvent(e: ChangeEvent, durable: boolean): void {
    if (this.#stopped) return;
    const id = durable && !this.#storeClosed ? this.#store.commit([], [e])[0].id : NOT_IN_OUTBOX;
    this.#deliver([e], [id]);
  }

  #ruleFor(path: string): PathRule {
    const root = this.watch.get(path)?.root;
    const w = root ? this.#rules.get(root) : undefined;
    return {
      consumer: w?.consumer ?? consumerNameFor(path),
      secret: w?.secret ?? false,
      diffMaxBytes: w?.diffMaxBytes ?? CONFIG_DEFAULTS.diffMaxBytes,
      policy: watchPolicy(w),
    };
  }

  /**
   * Watches every target, then compares each with the stored baseline: a path
   * seen for the first time is adopted silently; a path that changed while
   * bpfink was down is reported with reason `offline`.
   */
  async #baseline(targets: WatchTarget[], missing: WatchTarget[]): Promise<void> {
    // Watch the name and inode first, then read: a change after this point sends an event.
    for (const t of [...targets, ...missing]) {
      this.watch.add(t.path, t.kind, t.root, {
        recursive: t.recursive,
        shallow: t.shallow,
        awaitingBaseline: true,
      });
    }
    const recorded = new Set(this.#store.paths());
    const known = new Set(recorded);
    const all = [...targets, ...missing];
    let done = 0;
    let bytes = 0;
    // Read a window of files at once; decide in order. First sightings are committed in
    // batches (one transaction each), not one by one.
    const WINDOW = 32;
    const BATCH = 200;
    let adoptions: [string, FileState | undefined][] = [];
    for (let i = 0; i < all.length; i += WINDOW) {
      this.opts.signal?.throwIfAborted();
      const chunk = all.slice(i, i + WINDOW);
      // Each inode enters the kernel map before its first read (EarlyWatch).
      await Promise.all(chunk.map((t) => this.#early?.before(t.path, t.kind)));
      const states = await Promise.all(
        chunk.map((t) =>
          readFileState(t.path, MAX_PARSE_BYTES).catch((e) => {
            log("watch").warn(`cannot read ${t.path}: ${e instanceof Error ? e.message : e}`);
            return null;
          })
        ),
      );
      for (const [j, t] of chunk.entries()) {
        this.opts.onProgress?.(done++, all.length, bytes);
        const state = states[j];
        if (state === null) {
          this.#monitor.baselined(t.path);
          continue;
        }
        this.watch.setState(t.path, state && withoutContent(state));
        this.#monitor.baselined(t.path);
        if (state?.sha256) bytes += state.size;
        known.delete(t.path);
        const rec = this.#store.get(t.path);
        // A file new in a directory that was already watched was created while we were down.
        const parentKnown = t.path !== t.root && recorded.has(dirname(t.path));
        if (!rec && !(state && parentKnown)) {
          if (state) adoptions.push([t.path, state]);
          continue;
        }
        const before = rec ? stateOfRecord(rec) : undefined;
        const action = classify(t.kind, before, this.#pipeline.keyed(t.path, state));
        if (!action) continue;
        this.#pipeline.handle({
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
      this.#early?.settle();
      if (adoptions.length >= BATCH) {
        this.#pipeline.adoptMany(adoptions);
        adoptions = [];
      }
    }
    this.#early?.settle(true);
    this.#early = undefined;
    this.#pipeline.adoptMany(adoptions);
    this.opts.onProgress?.(all.length, all.length, bytes);
    // Recorded paths not found now: deleted while we were down if their directory is
    // still watched; otherwise no longer configured, and forgotten quietly.
    for (const p of known) {
      if (this.watch.get(p)) continue;
      const dir = this.watch.get(dirname(p));
      const rec = this.#store.get(p);
      if (dir?.kind === "dir" && dir.state && rec) {
        this.#pipeline.handle({
          action: "deleted",
          path: p,
          kind: "file",
          root: dir.root,
          before: stateOfRecord(rec),
          folded: 0,
          reason: "offline",
        });
      } else this.#store.commit([[p, undefined]], []);
    }
  }

  /**
   * Starts watching files another watched file pulls in (sudoers includes),
   * with the same consumer. Their current content becomes their baseline; the
   * include line itself is what gets reported.
   */
  async #watchMore(paths: { path: string; dir: boolean }[], consumer: ConsumerName): Promise<void> {
    for (const p of paths) {
      if (this.#stopped || this.watch.get(p.path)) continue;
      const rule: WatchConfig = { ...watchesForPaths([p.path])[0], consumer };
      this.#rules.set(p.path, rule);
      const r = await resolveTargets([p.path]);
      for (const t of [...r.targets, ...r.missing]) {
        if (this.watch.get(t.path)) continue;
        this.watch.add(t.path, t.kind, p.path);
        const state = await readFileState(t.path, MAX_PARSE_BYTES);
        this.watch.setState(t.path, state && withoutContent(state));
        if (!this.#store.get(t.path)) this.#pipeline.adopt(t.path, state);
      }
      log("watch").info(`watching ${p.path}, included by a watched ${consumer} file`);
    }
  }

  /** Matchers of each configured directory's include/exclude globs, by root. */
  readonly #admitters = new Map<string, (path: string, isDir: boolean) => boolean>();

  /** Whether a file found later under configured `root` passes its include/exclude globs. */
  #admits(root: string, path: string, isDir = false): boolean {
    let admit = this.#admitters.get(root);
    if (!admit) {
      const w = this.#rules.get(root);
      if (!w?.include?.length && !w?.exclude?.length) return true;
      let top = root;
      try {
        top = Deno.realPathSync(root);
      } catch { /* gone: match against the configured path */ }
      const included = w.include?.length ? globMatcher(w.include) : () => true;
      const excluded = w.exclude?.length ? globMatcher(w.exclude) : () => false;
      admit = (p, dir) => {
        const rel = relative(top, p);
        return (dir || included(rel)) && !excluded(rel);
      };
      this.#admitters.set(root, admit);
    }
    return admit(path, isDir);
  }

  /** Re-reads every watched path now (the periodic reconcile). */
  async reconcile(): Promise<void> {
    const t0 = performance.now();
    const at = new Date();
    this.#monitor.rescan("reconcile");
    await this.#monitor.idle();
    this.lastReconcile = { at, ms: performance.now() - t0 };
  }

  #startRecord(): ChangeEvent {
    const k = this.#kernel;
    const files = this.watch.entries().filter((e) => e.kind === "file" && e.state).length;
    // host/info, not process/start: rules for process starts must not fire on the agent.
    return withEnvelope({
      "@timestamp": new Date().toISOString(),
      event: {
        id: crypto.randomUUID(),
        action: "started",
        category: ["host"],
        type: ["info"],
        kind: "state",
        module: "bpfink",
        dataset: "bpfink.agent",
      },
      message:
        `bpfink ${VERSION} on ${this.facts.release}: ${k.spec.name} (${k.spec.object}), watching ${files} files`,
      bpfink: {
        version: VERSION,
        kernel: this.facts.release,
        strategy: k.spec.name,
        object: k.spec.object,
        programs: k.attached,
        libbpf: this.libbpf,
        coverage_lost: k.lost.map((l) => l.lost),
        watched_files: files,
        watched_paths: this.watch.size,
      },
    }, this.hostname);
  }

  /** Outbox rows of events that a queued output has not settled yet, by `event.id`. */
  readonly #unsettled = new Map<
    string,
    { outboxId: number; left: number; failed: Output[]; attempt: number }
  >();
  /** Events an output dropped, tried again while running (redelivery.ts). */
  readonly #redelivery = new RedeliveryQueue((r) => this.#redeliver(r));

  /**
   * Publishes committed events. The outbox row of an event is acknowledged
   * only once every output has delivered it: at once for the synchronous
   * outputs (stdout, terminal), when the sink took it for the queued ones
   * (file, syslog, http). An event a queued output dropped, or had not sent
   * when the agent died, stays in the outbox and is delivered again on the
   * next start.
   */
  /** Outbox rows not acknowledged yet (the backlog gauge). */
  readonly #outbox = new Set<number>();

  #ack(ids: number[]): void {
    for (const id of ids) this.#outbox.delete(id);
    this.#store.ack(ids);
  }

  #deliver(events: ChangeEvent[], outboxIds: number[]): void {
    this.#work++;
    for (const id of outboxIds) this.#outbox.add(id);
    const queued = this.opts.outputs.filter((o) => o instanceof QueuedOutput).length;
    if (queued > 0) {
      events.forEach((e, i) =>
        this.#unsettled.set(e.event.id, {
          outboxId: outboxIds[i],
          left: queued,
          failed: [],
          attempt: 0,
        })
      );
    }
    for (const e of events) this.#publish(e);
    if (queued === 0) this.#ack(outboxIds);
  }

  /** A queued output settled `events`: acknowledge those every output has delivered. */
  #settled(o: Output, events: readonly ChangeEvent[], delivered: boolean): void {
    this.#work++;
    const done: number[] = [];
    for (const e of events) {
      const u = this.#unsettled.get(e.event.id);
      if (!u) continue;
      if (!delivered) u.failed.push(o);
      if (--u.left > 0) continue;
      this.#unsettled.delete(e.event.id);
      if (!u.failed.length) done.push(u.outboxId);
      else {
        this.#redelivery.add({
          event: e,
          outboxId: u.outboxId,
          outputs: u.failed,
          attempt: u.attempt,
        });
      }
    }
    if (done.length && !this.#storeClosed) this.#ack(done);
  }

  /** Tries an event again on the outputs that dropped it (same event.id, flagged). */
  #redeliver(r: Redelivery): void {
    if (this.#stopped) return;
    const e = { ...r.event, bpfink: { ...r.event.bpfink, redelivered: true } };
    this.#unsettled.set(e.event.id, {
      outboxId: r.outboxId,
      left: r.outputs.length,
      failed: [],
      attempt: r.attempt,
    });
    for (const o of r.outputs) {
      try {
        o.write(e);
      } catch (err) {
        log("output").error(`${o.name}: ${err instanceof Error ? err.message : err}`);
      }
    }
  }

  #publish(e: ChangeEvent): void {
    if (e.event.action !== "started") this.#eventsByAction.inc({ action: e.event.action });
    for (const o of this.opts.outputs) {
      try {
        o.write(e);
      } catch (err) {
        log("output").error(`${o.name}: ${err instanceof Error ? err.message : err}`);
      }
    }
  }

  #checkDrops(): void {
    const { drops } = this.#kernel.counters();
    if (drops > this.#lastDrops) {
      log("kernel").warn(
        `ring buffer dropped ${drops - this.#lastDrops} events: rescanning every watch`,
      );
      this.#lastDrops = drops;
      this.rescans++;
      this.#kernel.rearmAll();
      this.#monitor.rescan("rescan");
    }
  }

  /** The chosen kernel object. */
  get kernel(): FimKernel {
    return this.#kernel;
  }

  /** Resolves when every queued re-read is done. */
  idle(): Promise<void> {
    return this.#monitor.idle();
  }

  /** Resolves when the ring buffer stops (rejects when polling failed). */
  get done(): Promise<void> {
    return this.#kernel.done;
  }

  /** Detaches every program, frees the object and closes outputs. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#quiet?.stop();
    this.#redelivery.close();
    await this.#selfTest.stop();
    await this.#monitor.stop();
    await this.#kernel.close();
    this.#bpfStats?.close();
    for (const o of this.opts.outputs) await o.close();
    this.#storeClosed = true;
    this.#store.close();
    if (this.#tempDir) Deno.removeSync(this.#tempDir, { recursive: true });
  }
}

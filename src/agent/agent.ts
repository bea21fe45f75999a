/**
 * The running agent: picks and attaches a kernel object, watches the paths,
 * turns kernel events into change events, rescans on drops, and detaches
 * everything on stop.
 *
 * @module
 */
import type { StrategyName } from "../../kernels/strategies.ts";
import { EMBEDDED_LIBBPF, EMBEDDED_OBJECTS } from "../../kernels/build/embedded.ts";
import type { FimKernel } from "../bpf/fim_kernel.ts";
import { type Libbpf, LibbpfUnavailableError, openLibbpf } from "../bpf/libbpf.ts";
import { libbpfCandidates } from "../bpf/libbpf_locate.ts";
import { genericEvent } from "../consumers/generic.ts";
import type { ChangeEvent } from "../events/change_event.ts";
import { FileMonitor } from "../events/file_monitor.ts";
import { type KernelFacts, readKernelFacts } from "../kernel/kernel_facts.ts";
import { chooseStrategy, type Trial } from "../kernel/strategy_choice.ts";
import { log } from "../log.ts";
import type { Output } from "../outputs/output.ts";
import { readFileState } from "../watch/file_state.ts";
import { resolveTargets } from "../watch/watch_targets.ts";
import { WatchSet } from "../watch/watch_set.ts";
import { AgentError } from "./agent_error.ts";
import { preflight } from "./preflight.ts";

/** Version reported in the start record. */
export const VERSION = "0.1.0";

/** How to run the agent. */
export interface AgentOptions {
  paths: string[];
  outputs: Output[];
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
  /** Expand directories recursively. */
  recursive?: boolean;
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

/** A running agent. */
export class Agent {
  #kernel: FimKernel;
  #monitor: FileMonitor;
  #timer: ReturnType<typeof setInterval>;
  #lastDrops = 0n;
  #stopped = false;
  readonly watch: WatchSet;
  readonly hostname = Deno.hostname();
  /** Rescans caused by dropped events. */
  rescans = 0;

  private constructor(
    readonly opts: AgentOptions,
    readonly facts: KernelFacts,
    readonly trials: Trial[],
    kernel: FimKernel,
  ) {
    this.#kernel = kernel;
    this.watch = new WatchSet(kernel);
    this.#monitor = new FileMonitor(this.watch, {
      settleMs: opts.settleMs,
      rearm: (id) => kernel.rearm(id),
      emit: (c) => this.#publish(genericEvent(c, this.hostname)),
      warn: (m) => log("watch").warn(m),
    });
    kernel.onEvent = (e) => this.#monitor.onKernelEvent(e);
    this.#timer = setInterval(() => this.#checkDrops(), opts.dropCheckMs ?? 250);
  }

  /** Starts the agent: preflight, kernel object, watches, baseline, start record. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const facts = readKernelFacts(opts.btf);
    preflight(facts, opts.btf);
    const resolved = await resolveTargets(opts.paths, { recursive: opts.recursive });
    for (const w of resolved.warnings) log("watch").warn(w);
    if (resolved.targets.length === 0) {
      throw new AgentError(`none of the paths exist: ${opts.paths.join(", ")}`, 2);
    }
    const lib = loadLibbpf(opts.libbpf);
    const choice = await chooseStrategy(lib, facts, {
      objects: EMBEDDED_OBJECTS,
      force: opts.force,
      btfCustomPath: opts.btf,
      onEvent: () => {},
    });
    if (!choice.kernel) {
      const why = choice.trials.filter((t) => t.outcome === "rejected").map((t) =>
        `${t.strategy}: ${t.reason}`
      );
      throw new AgentError(
        `no kernel object works on this kernel (${facts.release}): ${why.join("; ")}. ` +
          `Run "bpfink kernels" for details.`,
      );
    }
    const agent = new Agent(opts, facts, choice.trials, choice.kernel);
    for (const l of choice.kernel.lost) log("kernel").warn(`coverage lost: ${l.lost} (${l.error})`);
    try {
      await agent.#baseline(resolved.targets, resolved.missing);
    } catch (e) {
      await agent.stop();
      throw e;
    }
    agent.#publish(agent.#startRecord());
    return agent;
  }

  async #baseline(
    targets: { path: string; kind: "file" | "dir"; root: string }[],
    missing: { path: string; kind: "file" | "dir"; root: string }[],
  ): Promise<void> {
    // Watch the name and inode first, then read: a change after this point sends an event.
    for (const t of [...targets, ...missing]) this.watch.add(t.path, t.kind, t.root);
    for (const t of targets) {
      try {
        this.watch.setState(t.path, await readFileState(t.path));
      } catch (e) {
        log("watch").warn(`cannot read ${t.path}: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  #startRecord(): ChangeEvent {
    const k = this.#kernel;
    const files = this.watch.entries().filter((e) => e.kind === "file" && e.state).length;
    return {
      "@timestamp": new Date().toISOString(),
      event: {
        action: "started",
        category: ["process"],
        type: ["start"],
        kind: "state",
        module: "bpfink",
      },
      host: { hostname: this.hostname },
      message:
        `bpfink ${VERSION} on ${this.facts.release}: ${k.spec.name} (${k.spec.object}), watching ${files} files`,
      bpfink: {
        version: VERSION,
        kernel: this.facts.release,
        strategy: k.spec.name,
        object: k.spec.object,
        programs: k.attached,
        coverage_lost: k.lost.map((l) => l.lost),
        watched_files: files,
        watched_paths: this.watch.size,
      },
    };
  }

  #publish(e: ChangeEvent): void {
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
    clearInterval(this.#timer);
    this.#monitor.stop();
    await this.#kernel.close();
    for (const o of this.opts.outputs) await o.close();
  }
}

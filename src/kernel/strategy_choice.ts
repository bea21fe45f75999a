/**
 * Picks the kernel object to run: tries each strategy, best first, until one
 * loads, attaches and passes the canary. Every rejection keeps its reason.
 *
 * @module
 */
import { STRATEGIES, type StrategyName } from "../../kernels/strategies.ts";
import { BpfError } from "../bpf/bpf_error.ts";
import { Errno } from "../errno.ts";
import type { FimEvent } from "./fim_event.ts";
import { FimKernel, type LostCoverage } from "./fim_kernel.ts";
import type { Libbpf } from "../bpf/libbpf.ts";
import { runCanary } from "./canary.ts";
import type { KernelFacts } from "./kernel_facts.ts";
import { errorMessage } from "../error_message.ts";
import { openFileLimit } from "../open_file_limit.ts";

/** How one strategy fared. */
export interface Trial {
  strategy: StrategyName;
  outcome: "chosen" | "works" | "rejected" | "not tried";
  reason: string;
  /** Programs that did not attach and what that costs. */
  lost?: LostCoverage[];
  loadMs?: number;
  attachMs?: number;
  canaryMs?: number;
  /** Whether the strategy's alternate programs were used. */
  alternate?: boolean;
  /** The last lines of the kernel's verifier log, when it refused the object. */
  verifier?: string[];
}

/** The result of choosing. */
export interface Choice {
  trials: Trial[];
  /** The chosen, running kernel object; undefined when nothing works. */
  kernel?: FimKernel;
}

/** Options for choosing. */
export interface ChoiceOptions {
  objects: Record<string, Uint8Array>;
  /** Only try this strategy. */
  force?: StrategyName;
  /** Try every strategy even after one works (for `bpfink kernels`), closing the extra ones. */
  tryAll?: boolean;
  btfCustomPath?: string;
  /** Size of the watch maps. */
  maxWatches?: number;
  /** Size of the pending map alone (tests). */
  pendingEntries?: number;
  /** Size of the dir_paths map. */
  dirPaths?: number;
  /** Ring buffer bytes. */
  ringBytes?: number;
  /** Bytes of the ring's pump queue (0: none; FimKernel's ringQueueBytes). */
  ringQueueBytes?: number;
  onEvent: (e: FimEvent) => void;
}

/** The reason given for a load that failed for want of a descriptor (EMFILE). */
export const OUT_OF_DESCRIPTORS =
  "out of file descriptors (the open-file limit, ulimit -n, is reached)";

/** A short, human reason from a load or attach failure, with a kernel hint. */
export function explainFailure(strategy: StrategyName, e: unknown, facts: KernelFacts): string {
  if (!(e instanceof BpfError)) return errorMessage(e);
  const first = e.message.split("\n")[0];
  if (strategy === "kprobe" && e.call === "bpf_program__attach" && !facts.kprobePmu) {
    return `no kprobe PMU on this kernel (/sys/bus/event_source/devices/kprobe is missing): ${first}`;
  }
  if (strategy === "fentry" && e.call === "bpf_object__load" && e.errno === Errno.EPERM) {
    return `the kernel refuses BPF trampolines (fentry/fexit load gives EPERM): ${first}`;
  }
  if (e.errno === Errno.EPERM) return `permission denied by the kernel: ${first}`;
  if (e.errno === Errno.EMFILE) return `${OUT_OF_DESCRIPTORS}: ${first}`;
  return first;
}

/** The lines of `e`'s message after its first: libbpf's log, without its relocation chatter. */
function verifierTail(e: BpfError): string[] {
  return e.message.split("\n").slice(1).map((l) => l.trim()).filter((l) => l);
}

/**
 * Why `strategy` cannot attach on this kernel, known before loading it, or
 * undefined. Loading an object runs the verifier over every program (seconds
 * for the kprobe object), and libbpf attaches a kprobe through the kprobe PMU
 * or, failing that, tracefs's kprobe_events: with neither, no kprobe attaches.
 */
export function knownToFail(strategy: StrategyName, facts: KernelFacts): string | undefined {
  if (strategy === "kprobe" && !facts.kprobePmu && !facts.kprobeEvents) {
    return "no kprobe PMU on this kernel (/sys/bus/event_source/devices/kprobe is missing) " +
      "and no tracefs kprobe_events: not loaded, no kprobe could attach";
  }
  return undefined;
}

/** BPF_PROG_TYPE_TRACING: the type of fentry and fexit programs. */
const PROG_TYPE_TRACING = 26;

/**
 * Why the kernel will refuse `strategy`, as a tiny probe program tells
 * before the whole object is tried, or undefined: fentry where the kernel
 * refuses tracing programs (BPF trampolines). Trying the object would first
 * create its maps, sized for every watched path (0.45 s at 100,000 paths),
 * and only then be refused. libbpf's probe loads a tracing program aimed at
 * no function, which a kernel that takes them refuses as invalid (EINVAL),
 * and counts any other refusal as none; a probe that cannot tell (< 0) is
 * no verdict.
 */
export function refusedByProbe(lib: Libbpf, strategy: StrategyName): string | undefined {
  if (strategy !== "fentry") return undefined;
  if (lib.sym.libbpf_probe_bpf_prog_type(PROG_TYPE_TRACING, null) !== 0) return undefined;
  // A probe that could not get a descriptor is refused too: no verdict then (the load says why).
  if (outOfDescriptors()) return undefined;
  return "the kernel refuses BPF trampolines (libbpf's probe program of type tracing was " +
    "refused): the object was not loaded (--probe fentry loads it anyway)";
}

/**
 * Whether this process is within a few descriptors of its open-file limit, where a probe's load
 * (a BTF object and the program, each a descriptor) can fail for want of one.
 */
function outOfDescriptors(): boolean {
  try {
    const open = [...Deno.readDirSync("/proc/self/fd")].length;
    return openFileLimit().soft - open < FD_HEADROOM;
  } catch {
    return false; // cannot tell: the probe's verdict stands
  }
}

/** Descriptors a probe needs free for its verdict to count. */
const FD_HEADROOM = 16;

function tryLoad(
  lib: Libbpf,
  name: StrategyName,
  opts: ChoiceOptions,
): { kernel: FimKernel; alternate: boolean } {
  const bytes = opts.objects[name];
  if (!bytes) throw new Error(`object for ${name} is not embedded (rebuild with build.ts)`);
  const base = {
    onEvent: opts.onEvent,
    btfCustomPath: opts.btfCustomPath,
    maxWatches: opts.maxWatches,
    pendingEntries: opts.pendingEntries,
    dirPaths: opts.dirPaths,
    ringBytes: opts.ringBytes,
    ringQueueBytes: opts.ringQueueBytes,
  };
  try {
    return { kernel: FimKernel.load(lib, name, bytes, base), alternate: false };
  } catch (e) {
    const spec = STRATEGIES.find((s) => s.name === name)!;
    if (!spec.alternates || !(e instanceof BpfError)) throw e;
    return {
      kernel: FimKernel.load(lib, name, bytes, { ...base, alternate: true }),
      alternate: true,
    };
  }
}

/** Tries strategies in order and returns the first that passes its canary. */
export async function chooseStrategy(
  lib: Libbpf,
  facts: KernelFacts,
  opts: ChoiceOptions,
): Promise<Choice> {
  const order = opts.force ? STRATEGIES.filter((s) => s.name === opts.force) : STRATEGIES;
  const trials: Trial[] = [];
  let chosen: FimKernel | undefined;
  for (const spec of STRATEGIES) {
    if (!order.includes(spec)) {
      trials.push({
        strategy: spec.name,
        outcome: "not tried",
        reason: `--probe ${opts.force} was given`,
      });
      continue;
    }
    if (chosen && !opts.tryAll) {
      trials.push({
        strategy: spec.name,
        outcome: "not tried",
        reason: `${chosen.spec.name} was chosen first`,
      });
      continue;
    }
    // Under --probe the object itself is tried: its own refusal is the ground truth.
    const impossible = knownToFail(spec.name, facts) ??
      (opts.force ? undefined : refusedByProbe(lib, spec.name));
    if (impossible) {
      trials.push({ strategy: spec.name, outcome: "rejected", reason: impossible });
      continue;
    }
    let k: FimKernel | undefined;
    try {
      const loaded = tryLoad(lib, spec.name, opts);
      k = loaded.kernel;
      const canary = await runCanary(k);
      const trial: Trial = {
        strategy: spec.name,
        outcome: "works",
        reason: "",
        lost: k.lost,
        loadMs: k.loadMs,
        attachMs: k.attachMs,
        canaryMs: canary.writeMs,
        alternate: loaded.alternate,
      };
      if (!canary.ok) {
        trials.push({ ...trial, outcome: "rejected", reason: canary.reason ?? "canary failed" });
        await k.close();
        continue;
      }
      if (!chosen) {
        chosen = k;
        trial.outcome = "chosen";
        trial.reason =
          `loaded, attached and caught the canary write in ${canary.writeMs?.toFixed(1)} ms` +
          (loaded.alternate ? ` (with its ${spec.alternatesAre ?? "alternate programs"})` : "");
      } else {
        trial.reason = "works too, but a better strategy was chosen";
        await k.close();
      }
      trials.push(trial);
    } catch (e) {
      if (k) await k.close();
      trials.push({
        strategy: spec.name,
        outcome: "rejected",
        reason: explainFailure(spec.name, e, facts),
        ...(e instanceof BpfError && e.log.length ? { verifier: verifierTail(e) } : {}),
      });
    }
  }
  return { trials, kernel: chosen };
}

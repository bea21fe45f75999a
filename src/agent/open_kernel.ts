/**
 * Loads libbpf and attaches the best kernel object that works here, sized
 * for the watch set, or explains in one sentence why none does.
 *
 * @module
 */
import { dirname } from "node:path";
import {
  EMBEDDED_LIBBPF,
  EMBEDDED_NATIVE,
  EMBEDDED_OBJECTS,
} from "../../kernels/build/embedded.ts";
import type { FimKernel } from "../kernel/fim_kernel.ts";
import { ringRecordBytes } from "../kernel/fim_event.ts";
import { type Libbpf, LibbpfUnavailableError, openLibbpf } from "../bpf/libbpf.ts";
import { libbpfCandidates } from "../bpf/libbpf_locate.ts";
import { RunTimeStats } from "../bpf/prog_stats.ts";
import { pumpAvailable } from "../bpf/ring_pump.ts";
import type { KernelFacts } from "../kernel/kernel_facts.ts";
import { chooseStrategy, OUT_OF_DESCRIPTORS, type Trial } from "../kernel/strategy_choice.ts";
import { openFileLimit } from "../open_file_limit.ts";
import type { AgentOptions } from "./agent_options.ts";
import type { ResolvedTargets, WatchTarget } from "../watch/watch_targets.ts";
import { pathKeyCount } from "../watch/kernel_keys.ts";
import { AgentError } from "./agent_error.ts";
import { oneLine } from "./failure_policy.ts";
import { log } from "../log.ts";
import { errorMessage } from "../error_message.ts";

/**
 * Lets go of the embedded bytes a running agent no longer needs: every BPF
 * object (libbpf is done with an object's bytes once it has opened it, and
 * the others' objects are closed), libbpf's shared object and bpfink's own
 * native code (each written to a file and loaded by then). The single file reads them all at its start,
 * 4.5 MB, and held them for good. Each buffer is detached (its memory freed),
 * so this is for a process that starts no other agent. Returns the bytes let go.
 */
export function releaseEmbeddedAssets(): number {
  let freed = 0;
  const release = (bytes: Uint8Array | undefined) => {
    const buf = bytes?.buffer;
    if (!(buf instanceof ArrayBuffer) || buf.detached || buf.byteLength === 0) return;
    // Only a buffer that is these bytes alone: a view into something larger is left be.
    if (bytes!.byteOffset !== 0 || bytes!.byteLength !== buf.byteLength) return;
    freed += buf.byteLength;
    buf.transfer(0);
  };
  for (const bytes of Object.values(EMBEDDED_OBJECTS)) release(bytes);
  release(EMBEDDED_LIBBPF);
  release(EMBEDDED_NATIVE);
  return freed;
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
 * The executable's basename and the entry name a ring buffer is sized for:
 * the tools that change many files at once are named shortly (dpkg, rsync,
 * tar, git, python3.11, systemd-tmpfiles), and nearly every file name is
 * shorter than 64 bytes. Longer ones take more of the ring, and what it
 * cannot hold is a drop, which costs a rescan (a name event's process too).
 */
export const RING_SIZED_FOR = { exe: 16, name: 64 } as const;

/**
 * Ring buffer size for `n` watched paths: every watched file changing at once
 * fits, with an inode event (its write or truncate) and a name event (its
 * creation or a rename over it, as editors and config management write)
 * each, of the lengths in {@link RING_SIZED_FOR}, plus 512 KiB for longer
 * names and more name events (which are not folded). An event takes only
 * the bytes its executable's name and its entry's name have (bpf/fim_event.h).
 * `echo >>` over a watched file sends only the inode event: the kernel sends
 * no name event for an O_CREAT open of a watched file that created nothing.
 * Sized for two inode events a file, and a name event always 432 bytes, the
 * ring of 10,000 files held 7,100 files' events and dropped the rest of a
 * mass change (bench/mass_change.ts); halved, it dropped events when 3,000
 * watched files were rewritten at once (test/workloads/nothing_silent_test.ts).
 */
export function ringBytesFor(n: number): number {
  const { exe, name } = RING_SIZED_FOR;
  const need = n * (ringRecordBytes(exe, 0) + ringRecordBytes(exe, name)) + 512 * 1024;
  return 2 ** Math.ceil(Math.log2(Math.max(1 << 20, need)));
}

/**
 * The most the kernel's ring takes where a native pump empties it into its
 * queue (src/bpf/ring_pump.ts): enough for the moments the pump's thread
 * waits for a core (a flood of name events, about 150 bytes each, at 300,000
 * a second fills it in 90 ms).
 */
export const PUMPED_RING_BYTES = 4 << 20;

/**
 * How a ring sized for `total` bytes (ringBytesFor) is held. Past
 * PUMPED_RING_BYTES, where the pump can run, the kernel's ring is that and
 * the pump's queue holds the rest: it takes memory only while it holds
 * records, where the ring alone was mapped, and counted in RSS, for the
 * agent's life (32 MiB at 100,000 files; 4 MiB now). The two hold as much
 * as the ring alone did, so a flood drops where it did. Up to it, or
 * without the pump, the ring alone, read on the main thread: pumping a small
 * ring saves no memory, and under a user's create/unlink flood the agent
 * reported root's change later with it (test/rescan_flood_test.ts: 1.6-19.5
 * s in nine runs, against 0.8 and 4.0 s in two). `queueBytes` (tests) asks for a
 * pump of that size beside a ring of `total`.
 */
export function ringSplit(
  total: number,
  pumped: boolean,
  queueBytes?: number,
): { ringBytes: number; ringQueueBytes: number } {
  if (queueBytes !== undefined) {
    return { ringBytes: total, ringQueueBytes: pumped ? queueBytes : 0 };
  }
  if (!pumped || total <= PUMPED_RING_BYTES) return { ringBytes: total, ringQueueBytes: 0 };
  return { ringBytes: PUMPED_RING_BYTES, ringQueueBytes: total - PUMPED_RING_BYTES };
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * Entries of the kernel's directory-path map (bpf/fim_dir_match.bpf.h) for a
 * watch map of `maxWatches` inodes and the directories `dirs` that hold watched
 * names or are watched: each is placed by its path from the root and from each
 * of its ancestors, a key each. Four times the keys the start needs, and at
 * least `maxWatches`, in steps of 4,096. The map is preallocated,
 * in the kernel's memory: sized four times the watch map, as it was, it took 27
 * MB of kernel memory to watch one file and 109 MB at 100,000 files, and about
 * 100 ms of the object's load there. Past its size a new directory is not placed
 * by its own path: under a recursive watch the kernel places its paths on the
 * nearest directory above it that is placed (fim_place_in_tree), and
 * elsewhere user space checks what the path's basename could be.
 */
export function dirPathEntries(maxWatches: number, dirs: Iterable<string>): number {
  let keys = 0;
  for (const dir of dirs) keys += pathKeyCount(dir);
  return roundUp(Math.max(maxWatches, 4 * keys), 4096);
}

/**
 * Inodes the kernel's watch maps hold for `targets` (the watch set at the start,
 * with the paths not there yet). The maps are preallocated whole, in the kernel's
 * memory (about 500 bytes an inode over the four maps sized by it), and zeroed
 * while the object loads.
 * - Where the set can grow (a watched directory, where files appear; a path not
 *   there yet, which may come as a directory): twice the set, at least 65,536.
 * - Files alone cannot grow: a file replaced leaves the maps as its successor
 *   enters them. Four times the files (their directories are watched too), at
 *   least 1,024.
 */
export function watchCapacityFor(
  { targets, missing }: Pick<ResolvedTargets, "targets" | "missing">,
): number {
  const n = targets.length + missing.length;
  const grows = missing.length > 0 || targets.some((t) => t.kind === "dir");
  return grows ? Math.max(65_536, roundUp(2 * n, 4096)) : Math.max(1024, roundUp(4 * n, 1024));
}

/** The directories whose paths the kernel needs placed for `targets` (see dirPathEntries). */
export function placedDirs(targets: readonly WatchTarget[]): Set<string> {
  const dirs = new Set<string>();
  for (const t of targets) {
    if (t.kind === "dir" && !t.shallow) dirs.add(t.path);
    // Every directory above a watched path is placed too (kernel_keys.ts: ancestors by name).
    for (let d = dirname(t.path); !dirs.has(d); d = dirname(d)) {
      dirs.add(d);
      if (d === dirname(d)) break;
    }
  }
  return dirs;
}

/** The libbpf loaded, the kernel object attached, and every strategy's trial. */
export interface OpenedKernel {
  lib: Libbpf;
  kernel: FimKernel;
  trials: Trial[];
  /** Inodes the kernel's watch map holds. */
  watchCapacity: number;
}

/**
 * Attaches the first strategy that works for the watch set `resolved`.
 *
 * @throws {AgentError} when libbpf is missing or no kernel object works here.
 * @throws the abort reason when `opts.signal` aborted meanwhile (nothing stays attached).
 */
export async function openKernel(
  opts: AgentOptions,
  facts: KernelFacts,
  resolved: Pick<ResolvedTargets, "targets" | "missing">,
): Promise<OpenedKernel> {
  const lib = loadLibbpf(opts.libbpf);
  const targets = [...resolved.targets, ...resolved.missing];
  const paths = targets.length;
  const watchCapacity = opts.maxWatches ?? watchCapacityFor(resolved);
  const choice = await chooseStrategy(lib, facts, {
    objects: EMBEDDED_OBJECTS,
    force: opts.force,
    btfCustomPath: opts.btf,
    maxWatches: watchCapacity,
    dirPaths: opts.dirPathEntries ?? dirPathEntries(watchCapacity, placedDirs(targets)),
    ...ringSplit(opts.ringBytes ?? ringBytesFor(paths), pumpAvailable(), opts.ringQueueBytes),
    onEvent: () => {},
  });
  if (opts.signal?.aborted) {
    await choice.kernel?.close();
    opts.signal.throwIfAborted();
  }
  if (!choice.kernel) {
    const rejected = choice.trials.filter((t) => t.outcome === "rejected");
    const why = rejected.map((t) => `${t.strategy}: ${t.reason}`);
    // Not the kernel's doing: say what to change.
    if (rejected.some((t) => t.reason.startsWith(OUT_OF_DESCRIPTORS))) {
      throw new AgentError(
        `ran out of file descriptors loading the kernel object (open-file limit ` +
          `${openFileLimit().soft}): raise it (ulimit -n, or LimitNOFILE= in its systemd unit); ` +
          `${why.join("; ")}`,
      );
    }
    throw new AgentError(
      `no kernel object works on this kernel (${facts.release}): ${why.join("; ")}. ` +
        `Run "bpfink kernels" for details.`,
    );
  }
  return { lib, kernel: choice.kernel, trials: choice.trials, watchCapacity };
}

/** Holds BPF run-time statistics on while the agent runs, when `want`; a refusal is logged. */
export function holdBpfStats(lib: Libbpf, want: boolean): RunTimeStats | undefined {
  if (!want) return undefined;
  try {
    return RunTimeStats.enable(lib);
  } catch (e) {
    log("kernel").warn(`cannot enable BPF statistics: ${errorMessage(e)}`);
  }
}

/** A watch set's `onKernelFull` that warns once: further paths are left to the reconcile. */
export function warnOnceWhenFull(): (e: unknown) => void {
  let warned = false;
  return (e) => {
    if (warned) return;
    warned = true;
    log("kernel").warn(
      `the kernel watch map is full (${oneLine(e)}): further paths are ` +
        `checked only by the periodic reconcile; watch fewer files or split the tree`,
    );
  };
}

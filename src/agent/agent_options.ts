/**
 * How to run the agent ({@linkcode AgentOptions}) and the watch rules for
 * plain paths given on the command line.
 *
 * @module
 */
import type { StrategyName } from "../../kernels/strategies.ts";
import { CONFIG_DEFAULTS } from "../config/config_defaults.ts";
import type { WatchConfig } from "../config/config_types.ts";
import type { Output } from "../outputs/output.ts";

/** How to run the agent. */
export interface AgentOptions {
  watches: WatchConfig[];
  outputs: Output[];
  /** Baseline database; default a temporary one, removed on stop (interactive). */
  database?: string;
  /** What the outbox may hold on disk (default CONFIG_DEFAULTS.outboxMaxBytes; outbox_budget.ts). */
  outboxMaxBytes?: number;
  /** Text kept for line diffs per owner other than root (default CONFIG_DEFAULTS.userTextMaxBytes; owner_text.ts). */
  userTextMaxBytes?: number;
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
  /** While a process holds a watched file mapped shared and writable, re-read it this often (default 200 ms). */
  mappedPollMs?: number;
  /** The least time between two checks of the kernel's drop counter (default 250 ms; drop_watch.ts). */
  dropCheckMs?: number;
  /** Entries of the kernel's watch maps (default: watchCapacityFor the watch set). */
  maxWatches?: number;
  /** Ring buffer bytes, a power of two (default: ringBytesFor the watch set; tests make it small). */
  ringBytes?: number;
  /**
   * Bytes of the queue a native pump empties the ring into off the main
   * thread, beside a ring of `ringBytes` (default: open_kernel.ts'
   * ringSplit; 0: no pump, as tests of a full ring want it).
   */
  ringQueueBytes?: number;
  /** Entries of the kernel's directory-path map (default: dirPathEntries; tests make it small). */
  dirPathEntries?: number;
  /** Self-test through the live path this often (0 or undefined: never). */
  selfTestIntervalMs?: number;
  /** Heartbeat event and metric this often (0 or undefined: never). */
  heartbeatIntervalMs?: number;
  /** Aborts the start at its next step (SIGINT/SIGTERM during startup); `start` then throws it. */
  signal?: AbortSignal;
  /** Hold BPF run-time statistics on (default: `BPFINK_BPF_STATS=1`); costs ~2 clock reads per program run. */
  bpfStats?: boolean;
  /**
   * Mark watched inodes with fanotify beside the BPF object (default: yes,
   * unless `BPFINK_FANOTIFY=0`): the kernel's own file events, which no path
   * alias or ABI escapes.
   */
  fanotify?: boolean;
  /**
   * A classic fanotify group for files that cannot be marked by file handle
   * (ramfs, some FUSE and network filesystems): default yes, unless
   * `BPFINK_FANOTIFY_FALLBACK=0`.
   */
  fanotifyFallback?: boolean;
  /** Called while the first baseline is read: files done, files in all, bytes hashed. */
  onProgress?: (done: number, total: number, bytes: number) => void;
  /**
   * This is the process's only agent (the CLI's run and --paths): once armed, the embedded
   * BPF objects (the chosen one is loaded by then) and the embedded libbpf are let go
   * (releaseEmbeddedAssets), and the process's soft open-file limit is raised to its hard
   * limit first (src/open_file_limit.ts).
   * Another agent started in the same process afterwards could not load them.
   */
  soleAgent?: boolean;
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

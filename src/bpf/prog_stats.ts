/**
 * BPF run-time statistics: how often each program ran and how long it took,
 * from the kernel's `bpf_prog_info` (`run_cnt`, `run_time_ns`). The kernel
 * counts only while statistics are enabled (`BPF_ENABLE_STATS`, held here as
 * an fd, or the `kernel.bpf_stats_enabled` sysctl), because counting costs
 * two clock reads per program run.
 *
 * @module
 */
import { BpfError } from "./bpf_error.ts";
import type { Libbpf } from "./libbpf.ts";
import { objInfoByFd } from "./obj_info.ts";

/** `struct bpf_prog_info` offsets used here (stable UAPI; run_cnt since 5.1). */
const INFO = { id: 4, name: 64, runTimeNs: 192, runCnt: 200, recursionMisses: 208 } as const;
/** Enough of `struct bpf_prog_info` for the fields above. */
const INFO_LEN = 216;
/** `BPF_STATS_RUN_TIME` of `enum bpf_stats_type`. */
const BPF_STATS_RUN_TIME = 0;

/** One program's counters, as the kernel reports them. */
export interface ProgramStats {
  /** The kernel's program id (stable while it is loaded). */
  id: number;
  /** The program's name (the kernel keeps at most 15 characters). */
  name: string;
  /** Runs counted while statistics were enabled. */
  runCount: bigint;
  /** Total run time counted, in ns. */
  runTimeNs: bigint;
  /** Runs skipped because the program was already running on the CPU. */
  recursionMisses: bigint;
}

/** Reads a loaded program's counters through its fd. */
export function programStats(lib: Libbpf, fd: number): ProgramStats {
  const v = objInfoByFd(lib, fd, INFO_LEN);
  if (typeof v === "number") {
    throw new BpfError("bpf", "bpf_obj_get_info_by_fd", -v, lib.strerror(v), {
      detail: `fd ${fd}`,
    });
  }
  const name = new Uint8Array(v.buffer, INFO.name, 16);
  const end = name.indexOf(0);
  return {
    id: v.getUint32(INFO.id, true),
    name: new TextDecoder().decode(name.subarray(0, end < 0 ? 16 : end)),
    runTimeNs: v.getBigUint64(INFO.runTimeNs, true),
    runCount: v.getBigUint64(INFO.runCnt, true),
    recursionMisses: v.getBigUint64(INFO.recursionMisses, true),
  };
}

/**
 * Every BPF program loaded on the machine whose name `wanted` accepts, with
 * its counters (programs unloaded while listing are skipped).
 */
export function loadedProgramStats(lib: Libbpf, wanted: (name: string) => boolean): ProgramStats[] {
  const out: ProgramStats[] = [];
  const next = new Uint32Array(1);
  let id = 0;
  while (lib.sym.bpf_prog_get_next_id(id, new Uint8Array(next.buffer)) === 0) {
    id = next[0];
    const fd = lib.sym.bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue; // unloaded meanwhile
    try {
      const s = programStats(lib, fd);
      if (wanted(s.name)) out.push(s);
    } finally {
      lib.libc.close(fd);
    }
  }
  return out;
}

/** Run-time statistics enabled for as long as this is open. */
export class RunTimeStats implements Disposable {
  private constructor(readonly lib: Libbpf, readonly fd: number) {}

  /** Enables run-time statistics machine-wide until `close()`. */
  static enable(lib: Libbpf): RunTimeStats {
    const fd = lib.sym.bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) {
      throw new BpfError("bpf", "bpf_enable_stats", -fd, lib.strerror(fd), {
        detail: "BPF_STATS_RUN_TIME",
      });
    }
    return new RunTimeStats(lib, fd);
  }

  /** Stops counting (unless someone else keeps it enabled). */
  close(): void {
    this.lib.libc.close(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Whether the kernel counts right now for every program (the sysctl; an fd does not show). */
export function statsSysctlEnabled(): boolean {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/bpf_stats_enabled").trim() === "1";
  } catch {
    return false;
  }
}

/** One program's share of a sampling window. */
export interface ProgramSample {
  id: number;
  name: string;
  /** Runs in the window. */
  runs: number;
  /** Mean ns per run in the window (0 when it did not run). */
  nsPerRun: number;
  /** Its CPU time over the window's wall time, in % of one CPU. */
  cpuPercent: number;
}

/**
 * Enables run-time statistics for `ms` and reports what every loaded
 * program that `wanted` accepts did meanwhile, busiest first.
 */
export async function sampleLoadedPrograms(
  lib: Libbpf,
  wanted: (name: string) => boolean,
  ms: number,
): Promise<ProgramSample[]> {
  using _ = RunTimeStats.enable(lib);
  const before = new Map(loadedProgramStats(lib, wanted).map((s) => [s.id, s]));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const wall = (performance.now() - t0) * 1e6;
  const out: ProgramSample[] = [];
  for (const s of loadedProgramStats(lib, wanted)) {
    const b = before.get(s.id);
    if (!b) continue; // loaded during the window
    const runs = Number(s.runCount - b.runCount);
    const ns = Number(s.runTimeNs - b.runTimeNs);
    out.push({
      id: s.id,
      name: s.name,
      runs,
      nsPerRun: runs ? ns / runs : 0,
      cpuPercent: (100 * ns) / wall,
    });
  }
  return out.sort((a, b) => b.runs - a.runs || a.id - b.id);
}

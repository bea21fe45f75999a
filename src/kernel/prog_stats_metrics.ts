/**
 * Prometheus metrics of bpfink's own kernel cost: each attached program's
 * run count and run time, as the kernel counts them (only while BPF
 * statistics are enabled: `BPFINK_BPF_STATS=1`, or the
 * `kernel.bpf_stats_enabled` sysctl).
 *
 * @module
 */
import { type Metric, Pulled } from "../metrics/metrics_registry.ts";
import type { FimKernel } from "./fim_kernel.ts";
import type { ProgramStats } from "../bpf/prog_stats.ts";

/** The metrics; each scrape reads the counters once per metric. */
export function programStatsMetrics(kernel: FimKernel, enabled: () => boolean): Metric[] {
  const read = (f: (s: ProgramStats) => number) => () => {
    try {
      return kernel.programStats().map((s) => ({
        labels: { program: s.name, strategy: kernel.spec.name },
        value: f(s),
      }));
    } catch {
      return []; // closed while scraped
    }
  };
  return [
    new Pulled(
      "bpfink_bpf_program_runs_total",
      "Runs of each of bpfink's BPF programs, counted while BPF statistics are enabled.",
      "counter",
      read((s) => Number(s.runCount)),
    ),
    new Pulled(
      "bpfink_bpf_program_run_seconds_total",
      "CPU time spent in each of bpfink's BPF programs, counted while BPF statistics are enabled.",
      "counter",
      read((s) => Number(s.runTimeNs) / 1e9),
    ),
    new Pulled(
      "bpfink_bpf_stats_enabled",
      "Whether the kernel counts BPF program runs now (1) or not (0).",
      "gauge",
      () => (enabled() ? 1 : 0),
    ),
  ];
}

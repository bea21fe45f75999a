/**
 * The kernel object's metrics: events it submitted, events lost to a full
 * ring buffer, what waits in the ring's pump queue, repeats folded in the kernel, the mark gate, which object is in use, and
 * each program's run count and time (prog_stats_metrics.ts).
 *
 * @module
 */
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { FimKernel } from "./fim_kernel.ts";
import { programStatsMetrics } from "./prog_stats_metrics.ts";

/** Registers `kernel`'s metrics; `statsOn` tells whether the kernel counts program runs now. */
export function registerKernelMetrics(
  registry: MetricsRegistry,
  kernel: FimKernel,
  statsOn: () => boolean,
): void {
  for (const m of programStatsMetrics(kernel, statsOn)) registry.add(m);
  registry.pulled(
    "bpfink_ringbuf_drops_total",
    "Kernel events lost to a full ring buffer (each one triggers a rescan).",
    "counter",
    () => Number(kernel.counter("drops")),
  );
  registry.pulled(
    "bpfink_ringbuf_read_bytes_total",
    "Bytes of ring buffer records read (an event takes its executable's and its entry's name, not room for the longest).",
    "counter",
    () => Number(kernel.ringBytesRead),
  );
  registry.pulled(
    "bpfink_ringbuf_queue_bytes",
    "Bytes of kernel events the ring buffer's pump moved off the kernel's ring that wait for the agent (0 without a pump).",
    "gauge",
    () => kernel.ringQueue.queued,
  );
  registry.pulled(
    "bpfink_ringbuf_queue_peak_bytes",
    "The most bytes of kernel events that waited in the ring buffer's pump queue at once (its size: bpfink_ringbuf_queue_size_bytes).",
    "gauge",
    () => kernel.ringQueue.peak,
  );
  registry.pulled(
    "bpfink_ringbuf_queue_user_pauses_total",
    "Times the ring buffer's pump queue held more than an eighth of its size, and events of processes without uid 0 were kept out of the kernel's ring (dropped, held and rescanned) until it was down to a sixteenth.",
    "counter",
    () => kernel.ringQueue.usersPaused,
  );
  registry.pulled(
    "bpfink_ringbuf_queue_size_bytes",
    "The most bytes the ring buffer's pump queue holds (0: no pump, the kernel's ring is read on the agent's main thread).",
    "gauge",
    () => kernel.ringQueue.bytes,
  );
  registry.pulled(
    "bpfink_kernel_events_total",
    "Events the kernel side submitted.",
    "counter",
    () => Number(kernel.counter("events")),
  );
  registry.pulled(
    "bpfink_kernel_coalesced_total",
    "Repeats of an operation already reported for the same process, folded in the kernel.",
    "counter",
    () => Number(kernel.counter("coalesced")),
  );
  registry.pulled(
    "bpfink_kernel_mark_gate",
    "1 while the kernel skips its watched-map lookup for inodes with no fsnotify mark (every watched inode is marked).",
    "gauge",
    () => kernel.gate.on ? 1 : 0,
  );
  registry.pulled(
    "bpfink_kernel_mark_gate_closings_total",
    "Times the mark gate shut (an unmarked watch, such as the self-test's canary, or fanotify going): each costs speed, never an event.",
    "counter",
    () => kernel.gate.closings,
  );
  registry.pulled(
    "bpfink_kernel_unmarked_watches",
    "Inodes in the kernel's watched map with no fsnotify mark known (each keeps the mark gate off).",
    "gauge",
    () => kernel.gate.unvouched,
  );
  registry.pulled(
    "bpfink_kernel_object_info",
    "The kernel object in use.",
    "gauge",
    () => [{ labels: { strategy: kernel.spec.name, object: kernel.spec.object }, value: 1 }],
  );
}

/**
 * The per-output delivery metrics, read from each output's counters at
 * collection time: bpfink_sink_sent_total, bpfink_sink_dropped_total,
 * bpfink_sink_errors_total and bpfink_sink_queued, labelled `output`.
 *
 * @module
 */
import type { Output, OutputCounters } from "../outputs/output.ts";
import type { MetricsRegistry, Sample } from "./metrics_registry.ts";

/** Registers the sink metrics for the outputs `outputs()` returns (outputs without counters, like stdout, are left out). */
export function registerOutputMetrics(
  registry: MetricsRegistry,
  outputs: () => readonly Output[],
): void {
  const read = (field: keyof OutputCounters) => (): Sample[] =>
    outputs().flatMap((o) =>
      o.counters ? [{ labels: { output: o.name }, value: o.counters[field] }] : []
    );
  registry.pulled(
    "bpfink_sink_sent_total",
    "Events an output delivered (HTTP: acknowledged with 2xx).",
    "counter",
    read("sent"),
  );
  registry.pulled(
    "bpfink_sink_dropped_total",
    "Events an output gave up on: full buffer, refused, out of retries, or close deadline.",
    "counter",
    read("dropped"),
  );
  registry.pulled(
    "bpfink_sink_errors_total",
    "Failed delivery attempts, by output.",
    "counter",
    read("errors"),
  );
  registry.pulled(
    "bpfink_sink_queued",
    "Events an output holds that are not delivered yet (its queue), by output.",
    "gauge",
    read("queued"),
  );
}

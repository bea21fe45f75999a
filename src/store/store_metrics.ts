/**
 * The database's metrics: how far the baseline is behind (updates held in
 * memory while the database cannot be written) and the outbox backlog.
 *
 * @module
 */
import { type MetricsRegistry, Pulled } from "../metrics/metrics_registry.ts";
import type { BaselineStore } from "./baseline_store.ts";

/** Registers the store's gauges; `redelivering` counts events waiting to be tried again. */
export function registerStoreMetrics(
  registry: MetricsRegistry,
  store: BaselineStore,
  redelivering: () => number,
): void {
  registry.add(
    new Pulled(
      "bpfink_baseline_behind_paths",
      "Baseline updates held in memory because the database cannot be written (0 when caught up).",
      "gauge",
      () => store.behind,
    ),
  );
  registry.add(
    new Pulled(
      "bpfink_redelivery_pending",
      "Events an output dropped, waiting to be tried again on it.",
      "gauge",
      redelivering,
    ),
  );
}

/**
 * The database's metrics: how far the baseline is behind (updates held in
 * memory while the database cannot be written), the outbox backlog and its
 * budget (outbox_budget.ts), and the text refused to users past theirs
 * (owner_text.ts).
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
  const budget = store.outbox;
  registry.add(
    new Pulled(
      "bpfink_outbox_bytes",
      "Characters of JSON in the outbox: events committed that an output has not taken yet.",
      "gauge",
      () => budget.bytes,
    ),
  );
  registry.add(
    new Pulled(
      "bpfink_outbox_shortened_total",
      "Events that wait in the outbox in short form (line diffs cut): it was past 3/4 of outbox_max_bytes.",
      "counter",
      () => budget.shortened,
    ),
  );
  registry.add(
    new Pulled(
      "bpfink_outbox_not_kept_total",
      "Events not kept in the outbox, which was at outbox_max_bytes: delivered from memory only.",
      "counter",
      () => budget.notKept,
    ),
  );
  registry.add(
    new Pulled(
      "bpfink_text_refused_total",
      "Changes of files whose text was not kept for line diffs: their owner (not root) was at user_text_max_bytes.",
      "counter",
      () => store.textRefused,
    ),
  );
}

/**
 * The agent's identity and backlog metrics: `bpfink_build_info`,
 * `process_start_time_seconds`, the output queue and outbox backlog gauges,
 * failed delivery attempts, and how far the kernel strategy fell back.
 *
 * @module
 */
import type { Output } from "../outputs/output.ts";
import { QueuedOutput } from "../outputs/queued_output.ts";
import type { MetricsRegistry } from "./metrics_registry.ts";

/** What the agent tells the metrics. */
export interface AgentMetricsSource {
  version: string;
  /** The strategy and object in use. */
  strategy: string;
  object: string;
  /** Strategies better than the chosen one that were rejected on this kernel. */
  fallbacks(): number;
  /** Outbox rows committed but not acknowledged (not delivered by every output yet). */
  outboxBacklog(): number;
  outputs(): readonly Output[];
}

/** Registers the agent's identity and backlog metrics. */
export function registerAgentMetrics(registry: MetricsRegistry, src: AgentMetricsSource): void {
  registry.pulled(
    "bpfink_build_info",
    "Always 1; labels: bpfink version, Deno, V8 and TypeScript versions.",
    "gauge",
    () => [{
      labels: {
        version: src.version,
        deno: Deno.version.deno,
        v8: Deno.version.v8,
        typescript: Deno.version.typescript,
      },
      value: 1,
    }],
  );
  // performance.timeOrigin is when this process started (ms since the epoch).
  const started = Math.round(performance.timeOrigin) / 1000;
  registry.pulled(
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch, in seconds.",
    "gauge",
    () => started,
  );
  const queued = () => src.outputs().filter((o) => o instanceof QueuedOutput) as QueuedOutput[];
  registry.pulled(
    "bpfink_sink_queued",
    "Events an output holds that are not delivered yet (its queue), by output.",
    "gauge",
    () => queued().map((o) => ({ labels: { output: o.name }, value: o.counters.queued })),
  );
  registry.pulled(
    "bpfink_sink_errors_total",
    "Failed delivery attempts, by output.",
    "counter",
    () => queued().map((o) => ({ labels: { output: o.name }, value: o.counters.errors })),
  );
  registry.pulled(
    "bpfink_outbox_backlog",
    "Events committed to the outbox and not yet delivered by every output (delivered again after a restart).",
    "gauge",
    () => src.outboxBacklog(),
  );
  registry.pulled(
    "bpfink_strategy_fallbacks",
    "Better kernel strategies rejected on this kernel before the one in use (0: the best one runs).",
    "gauge",
    () => [{ labels: { strategy: src.strategy, object: src.object }, value: src.fallbacks() }],
  );
}

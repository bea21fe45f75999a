/**
 * The agent's own metrics: `bpfink_build_info`, how far the kernel strategy
 * fell back, and the standard process metrics.
 *
 * @module
 */
import { type MetricsRegistry, registerProcessMetrics } from "./metrics_registry.ts";

/** What the agent tells the metrics. */
export interface AgentMetricsSource {
  version: string;
  /** The strategy and object in use. */
  strategy: string;
  object: string;
  /** Strategies better than the chosen one that were rejected on this kernel. */
  fallbacks(): number;
}

/** Registers the agent's identity and process metrics. */
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
  registerProcessMetrics(registry);
  registry.pulled(
    "bpfink_strategy_fallbacks",
    "Better kernel strategies rejected on this kernel before the one in use (0: the best one runs).",
    "gauge",
    () => [{ labels: { strategy: src.strategy, object: src.object }, value: src.fallbacks() }],
  );
}

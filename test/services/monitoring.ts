/**
 * The Prometheus alert rules and Grafana dashboard in deploy/: their PromQL
 * expressions and the metric names they read.
 *
 * @module
 */
import { parse } from "yaml";

/** The alert rules file. */
export const ALERT_RULES = "deploy/prometheus/bpfink_alerts.yml";
/** Its promtool unit tests. */
export const ALERT_TESTS = "deploy/prometheus/bpfink_alerts_test.yml";
/** The Grafana dashboard. */
export const DASHBOARD = "deploy/grafana/bpfink.json";

/** Every PromQL expression of the dashboard, with Grafana's variables filled in. */
export function dashboardExprs(): string[] {
  const d = JSON.parse(Deno.readTextFileSync(DASHBOARD)) as {
    panels: { targets?: { expr: string }[] }[];
  };
  return d.panels.flatMap((p) => p.targets ?? []).map((t) =>
    t.expr.replaceAll("$__rate_interval", "5m").replaceAll("$instance", ".*")
  );
}

/** Every alert expression. */
export function alertExprs(): string[] {
  const r = parse(Deno.readTextFileSync(ALERT_RULES)) as {
    groups: { rules: { expr: string }[] }[];
  };
  return r.groups.flatMap((g) => g.rules.map((x) => String(x.expr)));
}

/** The bpfink_* and process_* metric names `exprs` read. */
export function metricNames(exprs: string[]): string[] {
  const names = new Set<string>();
  for (const e of exprs) {
    for (const m of e.matchAll(/\b(?:bpfink|process)_[a-z_]+\b/g)) names.add(m[0]);
  }
  return [...names].sort();
}

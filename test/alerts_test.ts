/**
 * The alert rules and the dashboard in deploy/ are checked by Prometheus's
 * own tool: `promtool check rules`, `promtool test rules` (agent silent,
 * drops, sink failing, fallen back to a weaker strategy, outbox backlog),
 * and every dashboard query parsed as PromQL. The daemon test in
 * metrics_prometheus_test.ts checks that every metric they read is exposed.
 */
import { assert, assertEquals, assertIncludes } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import {
  ALERT_RULES,
  ALERT_TESTS,
  alertExprs,
  DASHBOARD,
  dashboardExprs,
  metricNames,
} from "./services/monitoring.ts";
import { hasCommand } from "./services/service.ts";

const ignore = !hasCommand("promtool"); // comes with prometheus (setup.sh --test)

Deno.test({
  name: "alerts: promtool checks the rules and their unit tests pass",
  ignore,
  async fn() {
    const check = await run(["promtool", "check", "rules", ALERT_RULES]);
    assertEquals(check.code, 0, check.stdout + check.stderr);
    // Every rule in the file is one promtool found.
    const rules = (Deno.readTextFileSync(ALERT_RULES).match(/^\s*- alert:/gm) ?? []).length;
    assertIncludes(check.stdout, `SUCCESS: ${rules} rules found`);
    const test = await run(["promtool", "test", "rules", ALERT_TESTS]);
    assertEquals(test.code, 0, test.stdout + test.stderr);
  },
});

Deno.test({
  name: "alerts: the unit tests fail when a rule changes (they can fail)",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const rules = Deno.readTextFileSync(ALERT_RULES);
    const slower = rules.replace(
      'expr: up{job="bpfink"} == 0\n        for: 5m',
      'expr: up{job="bpfink"} == 0\n        for: 10m',
    );
    assert(slower !== rules, "rule to change not found");
    Deno.writeTextFileSync(`${dir.path}/bpfink_alerts.yml`, slower);
    Deno.copyFileSync(ALERT_TESTS, `${dir.path}/bpfink_alerts_test.yml`);
    const test = await run(["promtool", "test", "rules", `${dir.path}/bpfink_alerts_test.yml`]);
    assertEquals(test.code, 1, test.stdout + test.stderr);
    assertIncludes(test.stdout + test.stderr, "BpfinkAgentSilent");
  },
});

Deno.test({
  name: "dashboard: every panel query is valid PromQL (promtool parses it as a rule)",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const exprs = dashboardExprs();
    assert(exprs.length >= 10, `${exprs.length} queries`);
    const rules = "groups:\n  - name: dashboard\n    rules:\n" +
      exprs.map((e, i) => `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(e)}\n`)
        .join("");
    Deno.writeTextFileSync(`${dir.path}/dashboard_rules.yml`, rules);
    const check = await run(["promtool", "check", "rules", `${dir.path}/dashboard_rules.yml`]);
    assertEquals(check.code, 0, check.stdout + check.stderr);
    // A broken query is caught the same way.
    Deno.writeTextFileSync(
      `${dir.path}/broken.yml`,
      "groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: 'sum(rate(bpfink_events_total[5m])'\n",
    );
    assertEquals((await run(["promtool", "check", "rules", `${dir.path}/broken.yml`])).code, 1);
    const d = JSON.parse(Deno.readTextFileSync(DASHBOARD));
    assertEquals(d.uid, "bpfink-fim");
  },
});

Deno.test("alerts and dashboard read the metrics the issue asks for", () => {
  const names = metricNames([...alertExprs(), ...dashboardExprs()]);
  for (
    const n of [
      "bpfink_ringbuf_drops_total",
      "bpfink_sink_dropped_total",
      "bpfink_sink_queued",
      "bpfink_outbox_backlog",
      "bpfink_strategy_fallbacks",
      "bpfink_build_info",
      "process_start_time_seconds",
    ]
  ) assert(names.includes(n), `${n} not used: ${names}`);
});

/**
 * Prometheus scrapes bpfink's endpoint and answers queries about it: first
 * the endpoint alone (a registry the test feeds), then the daemon's.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { Daemon } from "./daemon.ts";
import { startPrometheus } from "./services/prometheus.ts";
import { freePort, poll } from "./services/service.ts";
import { daemonConfig } from "./services/daemon_config.ts";
import { alertExprs, dashboardExprs, metricNames } from "./services/monitoring.ts";
import { MetricsRegistry, registerProcessMetrics } from "../src/metrics/metrics_registry.ts";
import {
  parseListen,
  PROMETHEUS_CONTENT_TYPE,
  servePrometheus,
} from "../src/metrics/prometheus_endpoint.ts";

Deno.test("prometheus: the endpoint serves /metrics on 127.0.0.1 and a real Prometheus scrapes it every second", async () => {
  await using dir = await tempDir();
  const registry = new MetricsRegistry();
  const events = registry.counter("bpfink_events_total", "Change events, by action.", ["action"]);
  const inodes = registry.gauge("bpfink_watched_inodes", "Watched inodes.");
  registerProcessMetrics(registry);
  events.inc({ action: "modified" }, 3);
  events.inc({ action: "user_added" });
  inodes.set(12);
  const endpoint = servePrometheus(registry, ":0");
  try {
    assertEquals(endpoint.hostname, "127.0.0.1");
    const direct = await fetch(endpoint.url);
    assertEquals(direct.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    assert((await direct.text()).includes('bpfink_events_total{action="modified"} 3'));
    const missing = await fetch(endpoint.url.replace("/metrics", "/nope"));
    await missing.body?.cancel();
    assertEquals(missing.status, 404);

    await using prom = await startPrometheus(dir.path, `127.0.0.1:${endpoint.port}`);
    const series = await poll(
      async () => {
        const r = await prom.query("bpfink_events_total");
        return r && r.length >= 2 ? r : undefined;
      },
      30_000,
      250,
    );
    assert(series, prom.service.fail("no bpfink_events_total").message);
    const byAction = Object.fromEntries(series.map((s) => [s.metric.action, s.value[1]]));
    assertEquals(byAction, { modified: "3", user_added: "1" });
    assertEquals(series[0].metric.job, "bpfink");
    // A later change shows up at the next scrape.
    events.inc({ action: "modified" });
    const later = await poll(
      async () => {
        const r = await prom.query('bpfink_events_total{action="modified"}');
        return r?.[0]?.value[1] === "4" ? r : undefined;
      },
      10_000,
      250,
    );
    assert(later, "the next scrape did not see the new count");
    const up = await prom.query("up");
    assertEquals(up?.[0]?.value[1], "1");
    const rss = await prom.query("process_resident_memory_bytes");
    assert(Number(rss?.[0]?.value[1]) > 1e6, JSON.stringify(rss));
    assertEquals((await prom.targets())[0]?.health, "up");
  } finally {
    await endpoint.close();
  }
});

Deno.test("prometheus: listen addresses", () => {
  assertEquals(parseListen(":9464"), { hostname: "127.0.0.1", port: 9464 });
  assertEquals(parseListen("0.0.0.0:9464"), { hostname: "0.0.0.0", port: 9464 });
  assertEquals(parseListen("[::1]:9464"), { hostname: "::1", port: 9464 });
  for (const bad of ["9464", "host:", "h:70000"]) {
    let threw = false;
    try {
      parseListen(bad);
    } catch {
      threw = true;
    }
    assert(threw, `accepted "${bad}"`);
  }
});

Deno.test({
  name: "prometheus: scrapes the daemon, and a query returns bpfink's counters",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    const metricsPort = freePort();
    const { config, watched } = await daemonConfig(
      dir.path,
      `  prometheus:\n    listen: 127.0.0.1:${metricsPort}\n`,
    );
    const d = new Daemon(config);
    try {
      await d.started();
      await Deno.writeTextFile(watched, "a=2\n");
      assert(await waitFor(() => d.changes().some((e) => e.event.action === "modified")));
      const direct = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert(direct.includes('bpfink_events_total{action="modified"} 1'), direct);
      assert(
        /bpfink_kernel_object_info\{strategy="\w+",object="fim-\w+\.bpf\.o"\} 1/.test(direct),
        direct,
      );
      for (
        const name of [
          "bpfink_ringbuf_drops_total",
          "bpfink_kernel_events_total",
          "bpfink_kernel_coalesced_total",
          "bpfink_fanotify_events_total",
          "bpfink_fanotify_overflows_total",
          "bpfink_watched_inodes",
          "bpfink_last_reconcile_timestamp_seconds",
          "bpfink_last_reconcile_duration_seconds",
          "bpfink_sink_sent_total",
          "bpfink_sink_dropped_total",
          "process_cpu_seconds_total",
        ]
      ) assert(direct.includes(`# TYPE ${name} `), `${name} missing:\n${direct}`);
      assert(/^process_resident_memory_bytes [1-9]\d+$/m.test(direct), direct);
      // fanotify marked every watched inode before the kernel map got it: the hot path skips the rest.
      assert(/^bpfink_kernel_mark_gate 1$/m.test(direct), direct);
      assert(/^bpfink_kernel_unmarked_watches 0$/m.test(direct), direct);
      // Identity and backlog: build info, start time, outbox drained, strategy fallbacks.
      assert(
        direct.includes(`bpfink_build_info{version="0.1.0",deno="${Deno.version.deno}"`),
        direct,
      );
      const start = Number(/^process_start_time_seconds (\S+)$/m.exec(direct)?.[1]);
      const childStart = Date.now() / 1000 - performance.now() / 1000; // earlier than the child
      assert(start > childStart && start < Date.now() / 1000, `start ${start}`);
      assert(/^bpfink_outbox_backlog 0$/m.test(direct), direct);
      assert(
        /^bpfink_strategy_fallbacks\{strategy="\w+",object="fim-\w+\.bpf\.o"\} \d$/m.test(direct),
        direct,
      );
      // Every metric the alert rules and the dashboard read is one the agent exposes.
      for (const name of metricNames([...alertExprs(), ...dashboardExprs()])) {
        assert(direct.includes(`# TYPE ${name} `), `${name} (deploy/) is not exposed:\n${direct}`);
      }

      await using prom = await startPrometheus(dir.path, `127.0.0.1:${metricsPort}`);
      const series = await poll(
        async () => {
          const r = await prom.query("bpfink_events_total");
          return r?.length ? r : undefined;
        },
        30_000,
        250,
      );
      assert(series, "prometheus never returned bpfink_events_total");
      const modified = series.find((s) => s.metric.action === "modified");
      assertEquals(modified?.value[1], "1");
      assertEquals(modified?.metric.job, "bpfink");
    } finally {
      await d.stop();
    }
  },
});

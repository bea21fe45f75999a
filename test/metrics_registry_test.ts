/**
 * The metrics registry: counters, gauges and pulled metrics with labels, the
 * Prometheus text format, Graphite lines, and the process metrics from /proc.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  collectProcessMetrics,
  Counter,
  LabeledCounter,
  MetricsRegistry,
  processUsage,
  registerProcessMetrics,
} from "../src/metrics/metrics_registry.ts";
import { graphiteLines } from "../src/metrics/graphite_push.ts";
import { registerOutputMetrics } from "../src/metrics/output_metrics.ts";
import { HttpOutput } from "../src/outputs/http_output.ts";
import { JsonLinesOutput } from "../src/outputs/json_lines.ts";
import { testEvent } from "./services/events.ts";

function sampleRegistry(): MetricsRegistry {
  const r = new MetricsRegistry();
  const events = r.counter("bpfink_events_total", "Change events reported, by event.action.", [
    "action",
  ]);
  events.inc({ action: "modified" });
  events.inc({ action: "modified" }, 2);
  events.inc({ action: "user_added" });
  r.gauge("bpfink_watched_inodes", "Watched inodes.").set(42);
  r.pulled("bpfink_ringbuf_drops_total", "Lost kernel events.", "counter", () => 0);
  r.pulled("bpfink_kernel_object_info", "The kernel object in use.", "gauge", () => [
    { labels: { strategy: "tracepoint", object: "fim-tp.bpf.o" }, value: 1 },
  ]);
  r.gauge("bpfink_last_reconcile_duration_seconds", "How long the last reconcile took.").set(0.25);
  return r;
}

Deno.test("registry: Prometheus text exposition format 0.0.4", () => {
  assertEquals(
    sampleRegistry().prometheusText(),
    `# HELP bpfink_events_total Change events reported, by event.action.
# TYPE bpfink_events_total counter
bpfink_events_total{action="modified"} 3
bpfink_events_total{action="user_added"} 1
# HELP bpfink_watched_inodes Watched inodes.
# TYPE bpfink_watched_inodes gauge
bpfink_watched_inodes 42
# HELP bpfink_ringbuf_drops_total Lost kernel events.
# TYPE bpfink_ringbuf_drops_total counter
bpfink_ringbuf_drops_total 0
# HELP bpfink_kernel_object_info The kernel object in use.
# TYPE bpfink_kernel_object_info gauge
bpfink_kernel_object_info{strategy="tracepoint",object="fim-tp.bpf.o"} 1
# HELP bpfink_last_reconcile_duration_seconds How long the last reconcile took.
# TYPE bpfink_last_reconcile_duration_seconds gauge
bpfink_last_reconcile_duration_seconds 0.25
`,
  );
});

Deno.test("registry: escaping, special values, label handling", () => {
  const r = new MetricsRegistry();
  r.counter("c_total", 'help with \\ and\nnewline "quotes"', ["path"]).inc({ path: 'a"b\\c\nd' });
  const g = r.gauge("g", "gauge");
  g.set(NaN);
  r.gauge("h", "gauge", ["x"]).set({ x: "1" }, Infinity);
  r.gauge("i", "gauge").set(-Infinity);
  assertEquals(
    r.prometheusText().split("\n").filter((l) => !l.startsWith("# TYPE")),
    [
      '# HELP c_total help with \\\\ and\\nnewline "quotes"',
      'c_total{path="a\\"b\\\\c\\nd"} 1',
      "# HELP g gauge",
      "g NaN",
      "# HELP h gauge",
      'h{x="1"} +Inf',
      "# HELP i gauge",
      "i -Inf",
      "",
    ],
  );
  // Declared labels: order fixed, missing ones empty, extra ones ignored.
  const c = new Counter("x_total", "x", ["a", "b"]);
  c.inc({ b: "2", a: "1", z: "9" });
  c.inc({ a: "1", b: "2" }, 4);
  c.inc({ a: "1" }, -3); // negative: ignored
  assertEquals(c.collect(), [{ labels: { a: "1", b: "2" }, value: 5 }]);
  assertEquals(c.get({ a: "nope" }), 0);
  assertEquals(c.collect().length, 1, "get() created a series");
  // Undeclared labels: any order is the same series.
  const u = new LabeledCounter("y_total", "y");
  u.inc({ p: "1", q: "2" });
  u.inc({ q: "2", p: "1" });
  assertEquals(u.collect(), [{ labels: { p: "1", q: "2" }, value: 2 }]);
  // counter() and gauge() return the registered metric; a clash is an error.
  assert(r.counter("c_total", "again") === r.get("c_total"));
  let threw = false;
  try {
    r.gauge("c_total", "clash");
  } catch {
    threw = true;
  }
  assert(threw, "a gauge replaced a counter");
  for (const bad of ["9lives", "has-dash", ""]) {
    threw = false;
    try {
      new Counter(bad, "bad");
    } catch {
      threw = true;
    }
    assert(threw, `accepted metric name "${bad}"`);
  }
  // A pulled metric that throws yields no samples instead of breaking the scrape.
  r.pulled("broken", "throws", "gauge", () => {
    throw new Error("boom");
  });
  assert(r.prometheusText().includes("# TYPE broken gauge\n"));
});

Deno.test("registry: Graphite lines are prefix.name.label_values value timestamp", () => {
  assertEquals(
    graphiteLines(sampleRegistry(), "hosts.web-1", 1700000000).split("\n"),
    [
      "hosts.web-1.bpfink_events_total.modified 3 1700000000",
      "hosts.web-1.bpfink_events_total.user_added 1 1700000000",
      "hosts.web-1.bpfink_watched_inodes 42 1700000000",
      "hosts.web-1.bpfink_ringbuf_drops_total 0 1700000000",
      "hosts.web-1.bpfink_kernel_object_info.tracepoint.fim-tp_bpf_o 1 1700000000",
      "hosts.web-1.bpfink_last_reconcile_duration_seconds 0.25 1700000000",
      "",
    ],
  );
});

Deno.test("registry: process metrics come from /proc and make sense", () => {
  const p = collectProcessMetrics();
  const rss = Deno.memoryUsage().rss;
  assert(
    p.residentMemoryBytes > rss / 2 && p.residentMemoryBytes < rss * 2,
    `${p.residentMemoryBytes} vs ${rss}`,
  );
  assert(p.virtualMemoryBytes > p.residentMemoryBytes);
  assert(p.cpuSecondsTotal > 0 && p.cpuSecondsTotal < 3600, String(p.cpuSecondsTotal));
  const age = Date.now() / 1000 - p.startTimeSeconds;
  assert(age > 0 && age < 3600, `started ${age} s ago`);
  assert(p.openFds > 2 && p.threads >= 1, JSON.stringify(p));
  assertEquals(processUsage().rssBytes > 0, true);
  const r = new MetricsRegistry();
  registerProcessMetrics(r);
  const text = r.prometheusText();
  for (
    const name of [
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "process_start_time_seconds",
      "process_open_fds",
    ]
  ) {
    assert(new RegExp(`^${name} [0-9.e+]+$`, "m").test(text), `${name} missing:\n${text}`);
  }
});

Deno.test("registry: sink metrics read each queued output's counters", async () => {
  const r = new MetricsRegistry();
  const http = new HttpOutput({
    url: "http://127.0.0.1:9/x",
    format: "ndjson",
    headers: {},
    batchSize: 1,
    flushIntervalMs: 0,
    timeoutMs: 100,
    buffer: 2,
    maxRetries: 0,
  });
  registerOutputMetrics(r, () => [http, new JsonLinesOutput()]);
  for (let i = 0; i < 5; i++) http.write(testEvent(i));
  await http.close(1000);
  const text = r.prometheusText();
  assert(text.includes('bpfink_sink_dropped_total{output="http:127.0.0.1:9/x"} 5'), text);
  assert(text.includes('bpfink_sink_sent_total{output="http:127.0.0.1:9/x"} 0'), text);
  assert(text.includes('bpfink_sink_queued{output="http:127.0.0.1:9/x"} 0'), text);
  assert(/bpfink_sink_errors_total\{output="http:127.0.0.1:9\/x"\} [1-9]/.test(text), text);
  assert(!text.includes('output="json"'), "stdout has no queue");
});

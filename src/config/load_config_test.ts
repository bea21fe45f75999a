import { assert, assertEquals } from "../../test/assert.ts";
import { formatProblems, parseConfig, parseDuration } from "./load_config.ts";

Deno.test("a full config loads with defaults filled in", () => {
  const r = parseConfig(`
watches:
  - /etc/passwd
  - path: /etc/sudoers.d
    recursive: true
    exclude: ["*.bak"]
  - path: /etc/ssh
    secret: true
database: /var/lib/bpfink/db.sqlite
reconcile_interval: 5m
outputs:
  - type: syslog
    transport: tcp
    address: 127.0.0.1:6514
  - type: http
    url: http://127.0.0.1:8088/services/collector
    format: splunk_hec
    headers: { Authorization: "Splunk abc" }
metrics:
  prometheus: { listen: "127.0.0.1:9464" }
`);
  assertEquals(r.errors, []);
  const c = r.config!;
  assertEquals(c.watches.length, 3);
  assertEquals(c.watches[1].recursive, true);
  assertEquals(c.watches[1].exclude, ["*.bak"]);
  assertEquals(c.watches[2].secret, true);
  assertEquals(c.reconcileIntervalMs, 300_000);
  assertEquals(c.keyFile, "/var/lib/bpfink/hmac.key");
  assertEquals(c.outputs[0], {
    type: "syslog",
    transport: "tcp",
    address: "127.0.0.1:6514",
    appName: "bpfink",
    facility: "authpriv",
    buffer: 10_000,
  });
  assert(c.outputs[1].type === "http" && c.outputs[1].headers.Authorization === "Splunk abc");
  assertEquals(c.metrics.prometheus?.listen, "127.0.0.1:9464");
});

Deno.test("unknown keys, wrong types and relative paths are errors with line and column", () => {
  const r = parseConfig(`watches:
  - path: etc/passwd
  - path: /etc/group
    recursiv: true
log_level: loud
reconcile_interval: often
outputs:
  - type: carrier-pigeon
`);
  assertEquals(r.config, undefined);
  const lines = formatProblems("c.yaml", r);
  assert(
    lines.some((l) => l.startsWith("c.yaml:2:11: error: watch path must be an absolute path")),
    lines.join("\n"),
  );
  assert(
    lines.some((l) => l.startsWith('c.yaml:4:5: error: watch: unknown key "recursiv"')),
    lines.join("\n"),
  );
  assert(
    lines.some((l) => l.startsWith("c.yaml:5:12: error: log_level must be one of")),
    lines.join("\n"),
  );
  assert(
    lines.some((l) => l.startsWith("c.yaml:6:21: error: reconcile_interval must be a duration")),
    lines.join("\n"),
  );
  assert(
    lines.some((l) => l.startsWith("c.yaml:8:11: error: output type must be one of")),
    lines.join("\n"),
  );
});

Deno.test("YAML syntax errors and duplicate keys are reported, not thrown", () => {
  const r = parseConfig("watches: [/etc/passwd\nwatches: x\n");
  assert(r.errors.length > 0);
  const dup = parseConfig("watches: [/etc/passwd]\nwatches: [/etc/group]\n");
  assert(dup.errors.some((e) => /unique|duplicate/i.test(e.message)), JSON.stringify(dup.errors));
  assertEquals(parseConfig("").errors[0].message, "config is empty");
});

Deno.test("durations accept units and plain seconds", () => {
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("30s"), 30_000);
  assertEquals(parseDuration("10m"), 600_000);
  assertEquals(parseDuration("1h"), 3_600_000);
  assertEquals(parseDuration(15), 15_000);
  assertEquals(parseDuration("soon"), undefined);
  assertEquals(parseDuration(-1), undefined);
});

Deno.test("a path that does not exist yet is a warning, not an error", () => {
  const r = parseConfig("watches:\n  - path: /nonexistent/bpfink/file\n");
  assertEquals(r.errors, []);
  assertEquals(r.warnings.length, 1);
  assertEquals(r.warnings[0].line, 2);
});

Deno.test("max_watches sizes the kernel's watch map: a whole number from 1024 to 16M", () => {
  const at = (v: string) => parseConfig(`watches: [/etc/passwd]\nmax_watches: ${v}\n`);
  assertEquals(at("262144").config?.maxWatches, 262_144);
  assertEquals(parseConfig("watches: [/etc/passwd]\n").config?.maxWatches, undefined);
  for (
    const [v, msg] of [
      ["100", "max_watches must be a whole number >= 1024"],
      ["lots", "max_watches must be a whole number >= 1024"],
      ["99999999", "max_watches must be at most 16777216"],
    ]
  ) {
    const r = at(v);
    assertEquals(r.config, undefined, v);
    assertEquals(r.errors.map((e) => e.message), [msg], v);
  }
});

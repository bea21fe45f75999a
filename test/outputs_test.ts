/**
 * Outputs against real receivers: rsyslogd (RFC 5424 over UDP and TCP) and
 * an HTTP receiver that is down, then slow, then back.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { freePort, Service, waitForPort } from "./services.ts";
import type { ChangeEvent } from "../src/events/change_event.ts";
import { SyslogOutput } from "../src/outputs/syslog_output.ts";
import { HttpOutput } from "../src/outputs/http_output.ts";
import { FileOutput } from "../src/outputs/file_output.ts";

function event(i: number, action = "modified"): ChangeEvent {
  return {
    "@timestamp": new Date().toISOString(),
    event: {
      id: `ev-${i}`,
      action,
      category: ["file"],
      type: ["change"],
      kind: "event",
      module: "bpfink",
      reason: "live",
    },
    file: { path: `/etc/test-${i}.conf` },
    host: { hostname: "testhost" },
    message: `/etc/test-${i}.conf ${action}`,
  };
}

Deno.test("syslog: rsyslogd receives RFC 5424 messages over UDP and TCP", async () => {
  await using dir = await tempDir();
  const udp = freePort();
  const tcp = freePort();
  const out = `${dir.path}/received.log`;
  await Deno.writeTextFile(
    `${dir.path}/rsyslog.conf`,
    `global(workDirectory="${dir.path}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="${udp}")
input(type="imtcp" address="127.0.0.1" port="${tcp}")
template(name="fields" type="string" string="%protocol-version%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")
*.* action(type="omfile" file="${out}" template="fields")
`,
  );
  await using _rsyslog = new Service([
    "rsyslogd",
    "-n",
    "-f",
    `${dir.path}/rsyslog.conf`,
    "-i",
    `${dir.path}/pid`,
  ]);
  await waitForPort(tcp);
  const viaUdp = new SyslogOutput("udp", `127.0.0.1:${udp}`);
  const viaTcp = new SyslogOutput("tcp", `127.0.0.1:${tcp}`);
  viaUdp.write(event(1, "modified"));
  viaTcp.write(event(2, "user_added"));
  viaTcp.write(event(3, "deleted"));
  await viaUdp.close();
  await viaTcp.close();
  const lines = () => {
    try {
      return Deno.readTextFileSync(out).trim().split("\n");
    } catch {
      return [];
    }
  };
  assert(await waitFor(() => lines().length >= 3, 10_000), `rsyslog got: ${lines().join("\n")}`);
  const byId = new Map(
    lines().map((l) => {
      const [ver, app, procid, msgid, sd, ...msg] = l.split("|");
      const e = JSON.parse(msg.join("|").trim()) as ChangeEvent;
      return [e.event.id, { ver, app, procid, msgid, sd, e }];
    }),
  );
  for (const [id, action] of [["ev-1", "modified"], ["ev-2", "user_added"], ["ev-3", "deleted"]]) {
    const got = byId.get(id);
    assert(got, `${id} missing`);
    assertEquals([got.ver, got.app, got.procid, got.msgid], [
      "1",
      "bpfink",
      String(Deno.pid),
      action,
    ]);
    assert(got.sd.includes(`action="${action}"`), got.sd);
  }
  assertEquals(viaTcp.counters.sent, 2);
  assertEquals(viaUdp.counters.dropped + viaTcp.counters.dropped, 0);
});

Deno.test("http: a receiver that is down, then slow, then back gets every event exactly once or counts it as dropped", async () => {
  const port = freePort();
  const received = new Map<string, number>();
  let mode: "slow" | "ok" = "slow";
  const out = new HttpOutput({
    url: `http://127.0.0.1:${port}/ingest`,
    format: "ndjson",
    headers: {},
    batchSize: 10,
    flushIntervalMs: 20,
    timeoutMs: 5000,
    buffer: 1000,
    maxRetries: 8,
  });
  // Down: nothing listens yet.
  for (let i = 0; i < 50; i++) out.write(event(i));
  await new Promise((r) => setTimeout(r, 400));
  assert(out.counters.errors > 0, "the sink never noticed the receiver was down");
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const body = await req.text();
    if (mode === "slow") await new Promise((r) => setTimeout(r, 300));
    for (const line of body.trim().split("\n")) {
      const id = (JSON.parse(line) as ChangeEvent).event.id;
      received.set(id, (received.get(id) ?? 0) + 1);
    }
    return new Response("ok");
  });
  try {
    for (let i = 50; i < 100; i++) out.write(event(i));
    await new Promise((r) => setTimeout(r, 800));
    mode = "ok";
    for (let i = 100; i < 150; i++) out.write(event(i));
    await out.flush(30_000);
    await out.close();
  } finally {
    await server.shutdown();
  }
  const dupes = [...received.values()].filter((n) => n > 1).length;
  assertEquals(dupes, 0, "an event arrived twice");
  assertEquals(received.size + out.counters.dropped, 150, JSON.stringify(out.counters));
  assertEquals(out.counters.sent, received.size);
});

Deno.test("http: a full buffer counts drops instead of blocking", async () => {
  const out = new HttpOutput({
    url: "http://127.0.0.1:9/never",
    format: "json_array",
    headers: {},
    batchSize: 5,
    flushIntervalMs: 0,
    timeoutMs: 200,
    buffer: 20,
    maxRetries: 0,
  });
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) out.write(event(i));
  assert(performance.now() - t0 < 200, "write() blocked");
  await out.close(2000);
  assertEquals(out.counters.sent, 0);
  assertEquals(out.counters.dropped, 1000);
});

Deno.test("file: JSON lines, 0600, reopened after logrotate moves the file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/events.json`;
  const out = new FileOutput(path);
  out.write(event(1));
  await out.flush();
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  await Deno.rename(path, `${path}.1`);
  out.reopen();
  out.write(event(2));
  await out.close();
  assertEquals(JSON.parse(await Deno.readTextFile(`${path}.1`)).event.id, "ev-1");
  assertEquals(JSON.parse(await Deno.readTextFile(path)).event.id, "ev-2");
});

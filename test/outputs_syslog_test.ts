/**
 * The syslog output against rsyslogd (RFC 5424 over UDP, TCP and a unix
 * datagram socket, parsed by rsyslog itself), and against plain sockets for
 * the framing details.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { tempDir } from "./helpers.ts";
import { startRsyslog } from "./services/rsyslog.ts";
import { freePort, poll } from "./services/service.ts";
import { testEvent } from "./services/events.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { checkSdId, formatRfc5424, MAX_MESSAGE_BYTES } from "../src/outputs/syslog/rfc5424.ts";
import { octetFrame } from "../src/outputs/syslog/transports.ts";
import { SyslogOutput } from "../src/outputs/syslog/syslog_output.ts";

const decoder = new TextDecoder();

Deno.test("syslog: rsyslogd parses every RFC 5424 field from UDP, TCP and a unix datagram socket", async () => {
  await using dir = await tempDir();
  await using rsyslog = await startRsyslog(dir.path);
  const outputs = [
    // 32473 is the enterprise number for documentation (RFC 5612): right for a test.
    new SyslogOutput("udp", `127.0.0.1:${rsyslog.udpPort}`, "bpfink", "authpriv", 100, {
      sdId: "bpfink@32473",
    }),
    new SyslogOutput("tcp", `127.0.0.1:${rsyslog.tcpPort}`, "bpfink-test", "local3"),
    new SyslogOutput("unix", rsyslog.unixSocket, "bpfink", "auth"),
  ];
  const sent: ChangeEvent[] = [
    testEvent(1, "modified", { file: { path: '/etc/odd "name] with \\ and é' } }),
    testEvent(2, "user_added", { user: { target: { name: "mallory", id: "0" } } }),
    testEvent(3, "deleted"),
  ];
  for (const o of outputs) for (const e of sent) o.write(e);
  for (const o of outputs) await o.close();
  const got = await rsyslog.waitFor(9);
  assertEquals(got.length, 9, rsyslog.received().map((r) => r.line).join("\n"));
  for (
    const [o, facility, app] of [[0, 10, "bpfink"], [1, 19, "bpfink-test"], [
      2,
      4,
      "bpfink",
    ]] as const
  ) {
    assertEquals(outputs[o].counters, { sent: 3, dropped: 0, errors: 0, queued: 0 });
    for (const e of sent) {
      const r = got.find((r) =>
        r.appName === app && r.pri >> 3 === facility && r.msgId === e.event.action
      );
      assert(
        r,
        `${outputs[o].name}: ${e.event.id} missing from\n${got.map((g) => g.line).join("\n")}`,
      );
      assertEquals(r.version, "1");
      assertEquals(r.pri & 7, e.event.category.includes("iam") ? 4 : 5);
      assertEquals(Date.parse(r.timestamp), Date.parse(e["@timestamp"]));
      assertEquals(r.hostname, "testhost");
      assertEquals(r.procId, String(Deno.pid));
      const origin = `[origin software="bpfink" swVersion="0.1.0"]`;
      assertEquals(
        r.sd.startsWith(`${origin}[bpfink@32473 id="${e.event.id}" action="${e.event.action}"`),
        o === 0,
        r.sd,
      );
      if (o !== 0) assertEquals(r.sd, origin);
      assertEquals(JSON.parse(r.msg), e);
    }
  }
  // The structured data escapes ", \ and ] (RFC 5424 6.3.3).
  const odd = got.find((r) => r.msgId === "modified" && r.sd.includes("@32473"))!;
  assert(odd.sd.includes(String.raw`path="/etc/odd \"name\] with \\ and é"`), odd.sd);
});

Deno.test("syslog: a message over the size limit arrives shortened, with MSG still valid JSON", async () => {
  await using dir = await tempDir();
  await using rsyslog = await startRsyslog(dir.path);
  const big = testEvent(7, "modified", {
    message: "x".repeat(100_000),
    bpfink: {
      consumer: "generic",
      diff: {
        added: Array.from({ length: 2000 }, (_, i) => `line ${i} ${"é".repeat(40)}`),
        removed: [],
      },
    },
  });
  const formatted = formatRfc5424(big, {
    facility: 10,
    appName: "bpfink",
    hostname: "h",
    procId: 1,
    maxBytes: MAX_MESSAGE_BYTES,
  });
  assert(formatted.length <= MAX_MESSAGE_BYTES, `${formatted.length} bytes`);
  const udp = new SyslogOutput("udp", `127.0.0.1:${rsyslog.udpPort}`);
  const tcp = new SyslogOutput("tcp", `127.0.0.1:${rsyslog.tcpPort}`);
  udp.write(big);
  tcp.write(big);
  await udp.close();
  await tcp.close();
  const got = await rsyslog.waitFor(2);
  assertEquals(got.length, 2);
  for (const r of got) {
    assert(new TextEncoder().encode(r.msg).length < MAX_MESSAGE_BYTES);
    const e = JSON.parse(r.msg) as ChangeEvent;
    assertEquals(e.event, big.event);
    assertEquals(e.file?.path, big.file?.path);
    assertEquals(e.bpfink?.truncated, true);
    assert(e.message!.startsWith("xxxx") && e.message!.endsWith("more)"), e.message!.slice(-40));
  }
});

Deno.test("syslog: TCP reconnects after rsyslogd restarts; every event is delivered once or counted as dropped", async () => {
  await using dir = await tempDir();
  let rsyslog = await startRsyslog(dir.path);
  const ports = { udp: rsyslog.udpPort, tcp: rsyslog.tcpPort };
  const out = new SyslogOutput("tcp", `127.0.0.1:${ports.tcp}`, "bpfink", "authpriv", 100, {
    backoffBaseMs: 50,
    backoffMaxMs: 500,
    maxRetries: 30,
  });
  try {
    for (let i = 0; i < 5; i++) out.write(testEvent(i));
    assertEquals((await rsyslog.waitFor(5)).length, 5);
    await rsyslog.stop();
    // Down: the output notices the closed connection and retries with backoff.
    for (let i = 5; i < 10; i++) out.write(testEvent(i));
    assert(await poll(() => out.counters.errors > 0 || undefined, 5000), "no error while down");
    rsyslog = await startRsyslog(dir.path, ports);
    for (let i = 10; i < 15; i++) out.write(testEvent(i));
    await out.flush(20_000);
    const ids = (await rsyslog.waitFor(out.counters.sent, 10_000)).map((r) =>
      (JSON.parse(r.msg) as ChangeEvent).event.id
    );
    assertEquals(new Set(ids).size, ids.length, `duplicates: ${ids}`);
    assertEquals(out.counters.sent, ids.length);
    assertEquals(out.counters.sent + out.counters.dropped, 15, JSON.stringify(out.counters));
    assertEquals(out.counters.dropped, 0, "rsyslogd was back well within the retries");
  } finally {
    await out.close();
    await rsyslog.stop();
  }
});

Deno.test("syslog: TCP frames are octet-counted in bytes (RFC 6587)", async () => {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const reading = (async () => {
    const conn = await listener.accept();
    const chunks: Uint8Array[] = [];
    for await (const c of conn.readable) chunks.push(c);
    return new Uint8Array(chunks.flatMap((c) => [...c]));
  })();
  const out = new SyslogOutput("tcp", `127.0.0.1:${port}`);
  const events = [testEvent(1, "modified", { file: { path: "/etc/ünïcødé" } }), testEvent(2)];
  for (const e of events) out.write(e);
  await out.close();
  const bytes = await reading;
  listener.close();
  const frames: string[] = [];
  for (let at = 0; at < bytes.length;) {
    const space = bytes.indexOf(0x20, at);
    const len = Number(decoder.decode(bytes.subarray(at, space)));
    frames.push(decoder.decode(bytes.subarray(space + 1, space + 1 + len)));
    at = space + 1 + len;
  }
  assertEquals(frames.length, 2);
  for (const [i, f] of frames.entries()) {
    assert(f.startsWith("<85>1 "), f);
    assertEquals(JSON.parse(f.slice(f.indexOf("] {") + 2)), events[i]);
  }
  assertEquals(decoder.decode(octetFrame(new TextEncoder().encode("é"))), "2 é");
});

Deno.test("syslog: a unix stream socket (syslog-ng unix-stream) gets newline-framed messages", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/stream.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const reading = (async () => {
    const conn = await listener.accept();
    let text = "";
    for await (const c of conn.readable.pipeThrough(new TextDecoderStream())) text += c;
    return text;
  })();
  const out = new SyslogOutput("unix", path);
  out.write(testEvent(1));
  out.write(testEvent(2));
  await out.close();
  const lines = (await reading).split("\n");
  listener.close();
  assertEquals(lines.length, 3);
  assertEquals(lines[2], "");
  assertEquals(lines.slice(0, 2).map((l) => JSON.parse(l.slice(l.indexOf("] {") + 2)).event.id), [
    "ev-1",
    "ev-2",
  ]);
  assertEquals(out.counters.sent, 2);
});

Deno.test("syslog: a dead receiver never blocks write(); what cannot be sent is counted", async () => {
  const out = new SyslogOutput("tcp", `127.0.0.1:${freePort()}`, "bpfink", "authpriv", 100, {
    backoffBaseMs: 10,
    maxRetries: 2,
  });
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) out.write(testEvent(i));
  // A write that waited on the dead peer would take seconds (connect retries with
  // backoff); a queued one takes microseconds, even on a loaded machine.
  assert(performance.now() - t0 < 2000, "write() blocked");
  await out.flush(5000);
  await out.close(1000);
  assertEquals(out.counters.sent, 0);
  assertEquals(out.counters.dropped, 1000);
  assertEquals(out.counters.queued, 0);
  assert(out.counters.errors >= 3, JSON.stringify(out.counters));
});

Deno.test("syslog: bad config fails at construction", () => {
  for (
    const [t, a, f] of [["udp", "nohost", "authpriv"], ["tcp", "h:99999", "authpriv"], [
      "udp",
      "127.0.0.1:514",
      "nosuch",
    ], ["unix", "relative/log", "authpriv"]] as const
  ) {
    let threw = false;
    try {
      new SyslogOutput(t, a, "bpfink", f);
    } catch {
      threw = true;
    }
    assert(threw, `${t} ${a} ${f} was accepted`);
  }
});

Deno.test("syslog: an sd_id must be name@<enterprise number> (RFC 5424 7.2.2)", () => {
  assertEquals(checkSdId("acme@12345"), "acme@12345");
  assertEquals(checkSdId("fim@12345.1.2"), "fim@12345.1.2");
  for (const bad of ["bpfink", "origin", "a b@1", "x@", "x@abc", 'q"@1', `${"l".repeat(40)}@1`]) {
    assertThrows(() => checkSdId(bad), /sd_id must be name@<private enterprise number>/);
  }
});

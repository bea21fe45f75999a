/**
 * The HTTP output against a receiver (Deno.serve on 127.0.0.1) that is down,
 * slow, refusing or flaky: every event is acknowledged exactly once or
 * counted as dropped, and write() never waits.
 */
import { assert, assertEquals } from "./assert.ts";
import { freePort, poll } from "./services/service.ts";
import { testEvent } from "./services/events.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import type { HttpOutputConfig } from "../src/config/config_types.ts";
import { bulkItemErrors, httpBody, HttpOutput } from "../src/outputs/http_output.ts";

function config(
  port: number,
  over: Partial<HttpOutputConfig> = {},
): Omit<HttpOutputConfig, "type"> {
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    format: "ndjson",
    headers: {},
    batchSize: 10,
    flushIntervalMs: 20,
    timeoutMs: 2000,
    buffer: 1000,
    maxRetries: 5,
    ...over,
  };
}

/** A receiver; `handle` answers each request and sees its ndjson events. */
function receiver(
  port: number,
  handle: (events: ChangeEvent[], req: Request) => Response | Promise<Response>,
): Deno.HttpServer {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const text = await req.text();
    const events = text.trim()
      ? text.trim().split("\n").map((l) => JSON.parse(l) as ChangeEvent)
      : [];
    return handle(events, req);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("http: a receiver that is down, then slow, then back gets every event exactly once or counts it as dropped", async () => {
  const port = freePort();
  const received = new Map<string, number>();
  let slow = true;
  const out = new HttpOutput(config(port, { timeoutMs: 2000, maxRetries: 12 }), {
    backoffBaseMs: 50,
    backoffMaxMs: 400,
  });
  // Down: nothing listens yet.
  for (let i = 0; i < 50; i++) out.write(testEvent(i));
  assert(
    await poll(() => out.counters.errors >= 2 || undefined, 5000),
    "never noticed it was down",
  );
  assertEquals(out.counters.sent, 0);
  const server = receiver(port, async (events) => {
    if (slow) await sleep(300);
    for (const e of events) received.set(e.event.id, (received.get(e.event.id) ?? 0) + 1);
    return new Response("ok");
  });
  try {
    for (let i = 50; i < 100; i++) out.write(testEvent(i));
    await sleep(800);
    assert(out.counters.queued > 0, "the slow phase did not hold anything back");
    slow = false;
    for (let i = 100; i < 150; i++) out.write(testEvent(i));
    await out.flush(30_000);
    await out.close();
  } finally {
    await server.shutdown();
  }
  const dupes = [...received].filter(([, n]) => n > 1).map(([id]) => id);
  assertEquals(dupes, [], "arrived twice");
  assertEquals(out.counters.sent, received.size);
  assertEquals(out.counters.sent + out.counters.dropped, 150, JSON.stringify(out.counters));
  assertEquals(out.counters.dropped, 0, "the receiver came back well within the retries");
});

Deno.test("http: requests that time out are retried: no event is lost, and repeats carry the same event.id", async () => {
  const port = freePort();
  const received = new Map<string, number>();
  let calls = 0;
  const out = new HttpOutput(config(port, { timeoutMs: 400, maxRetries: 12 }), {
    backoffBaseMs: 50,
    backoffMaxMs: 200,
  });
  // Every other request answers long after the client's timeout: the receiver has the
  // events, the client cannot know, and sends them again (at-least-once).
  const server = receiver(port, async (events) => {
    for (const e of events) received.set(e.event.id, (received.get(e.event.id) ?? 0) + 1);
    if (calls++ % 2 === 0) await sleep(1000);
    return new Response("ok");
  });
  try {
    for (let i = 0; i < 60; i++) out.write(testEvent(i));
    await out.flush(30_000);
    await out.close();
  } finally {
    await server.shutdown();
  }
  assertEquals(received.size, 60, "an event never arrived");
  assertEquals(out.counters, { sent: 60, dropped: 0, errors: out.counters.errors, queued: 0 });
  const repeats = [...received.values()].reduce((n, c) => n + c - 1, 0);
  assert(
    out.counters.errors > 0 && repeats <= out.counters.errors * 10,
    JSON.stringify({ repeats, ...out.counters }),
  );
});

Deno.test("http: a full buffer counts drops instead of blocking write()", async () => {
  const out = new HttpOutput(config(freePort(), {
    format: "json_array",
    batchSize: 5,
    flushIntervalMs: 0,
    timeoutMs: 200,
    buffer: 20,
    maxRetries: 0,
  }));
  const events = Array.from({ length: 1000 }, (_, i) => testEvent(i));
  // write() is synchronous: right after the loop, with no await in between, the buffer is
  // full and the rest are already counted as dropped (nothing waited for the sink).
  for (const e of events) out.write(e);
  assertEquals(out.counters.queued, 20);
  assertEquals(out.counters.dropped, 980);
  await out.close(2000);
  assertEquals(out.counters, { sent: 0, dropped: 1000, errors: out.counters.errors, queued: 0 });
});

Deno.test("http: a refusal that retrying cannot fix (400) drops the batch at once; 503 with Retry-After waits", async () => {
  const port = freePort();
  const calls: { at: number; n: number }[] = [];
  let answer = 400;
  const server = receiver(port, (events) => {
    calls.push({ at: Date.now(), n: events.length });
    if (answer === 503 && calls.length === 2) {
      return new Response("busy", { status: 503, headers: { "retry-after": "1" } });
    }
    return new Response(answer === 400 ? "bad mapping" : "ok", {
      status: answer === 400 ? 400 : 200,
    });
  });
  const out = new HttpOutput(config(port, { batchSize: 3, flushIntervalMs: 1000 }), {
    backoffBaseMs: 10,
  });
  try {
    for (let i = 0; i < 3; i++) out.write(testEvent(i));
    await out.flush();
    assertEquals(calls.length, 1, "a 400 was retried");
    assertEquals(out.counters.dropped, 3);
    assert(out.lastError?.includes("HTTP 400 bad mapping"), out.lastError);
    answer = 503;
    for (let i = 3; i < 6; i++) out.write(testEvent(i));
    await out.flush();
    assertEquals(calls.length, 3);
    const waited = calls[2].at - calls[1].at;
    assert(waited >= 900, `retried after ${waited} ms despite Retry-After: 1`);
    assertEquals(out.counters.sent, 3);
  } finally {
    await out.close();
    await server.shutdown();
  }
});

Deno.test("http: a batch refused for its size (413) is sent again in halves: only the event too large by itself is dropped", async () => {
  const port = freePort();
  const LIMIT = 8192;
  const got: string[] = [];
  const sizes: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const text = await req.text();
    sizes.push(text.length);
    if (text.length > LIMIT) return new Response("body too large", { status: 413 });
    for (const l of text.trim().split("\n")) got.push((JSON.parse(l) as ChangeEvent).event.id);
    return new Response("ok");
  });
  const out = new HttpOutput(config(port, { batchSize: 8, flushIntervalMs: 1000 }), {
    backoffBaseMs: 10,
  });
  try {
    const events = Array.from({ length: 8 }, (_, i) => testEvent(i));
    // Alone, each small event fits; the third alone does not.
    events[2] = { ...events[2], message: "x".repeat(LIMIT) };
    for (const e of events) out.write(e);
    await out.flush();
    assertEquals(got, events.filter((_, i) => i !== 2).map((e) => e.event.id), "in order");
    assertEquals(out.counters.sent, 7);
    assertEquals(out.counters.dropped, 1);
    assert(out.lastError?.includes("HTTP 413"), out.lastError);
    assert(sizes.length <= 8, `${sizes.length} requests for 8 events`);
  } finally {
    await out.close();
    await server.shutdown();
  }
});

Deno.test("http: elastic bulk item errors retry only what can succeed and count what was refused", async () => {
  const port = freePort();
  const indexed = new Map<string, number>();
  let call = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const lines = (await req.text()).trim().split("\n").map((l) => JSON.parse(l));
    call++;
    const items = [];
    for (let i = 0; i < lines.length; i += 2) {
      const id = lines[i].create._id as string;
      assertEquals(lines[i + 1].event.id, id);
      // First request: ev-1 is throttled (429), ev-2 is malformed (400); the rest index.
      const status = call === 1 && id === "ev-1" ? 429 : call === 1 && id === "ev-2" ? 400 : 201;
      if (status === 201) indexed.set(id, (indexed.get(id) ?? 0) + 1);
      items.push({ create: { _id: id, status } });
    }
    return Response.json({ took: 1, errors: items.some((i) => i.create.status >= 300), items });
  });
  const out = new HttpOutput(
    config(port, { format: "elastic_bulk", batchSize: 5, flushIntervalMs: 1000 }),
    {
      backoffBaseMs: 10,
    },
  );
  try {
    for (let i = 0; i < 5; i++) out.write(testEvent(i));
    await out.flush();
  } finally {
    await out.close();
    await server.shutdown();
  }
  assertEquals(call, 2);
  assertEquals([...indexed.keys()].sort(), ["ev-0", "ev-1", "ev-3", "ev-4"]);
  assert([...indexed.values()].every((n) => n === 1));
  assertEquals(out.counters, { sent: 4, dropped: 1, errors: 2, queued: 0 });
});

Deno.test("http: close() gives up on a receiver that never answers by its deadline and counts the rest", async () => {
  const port = freePort();
  let requests = 0;
  const hang = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async () => {
    requests++;
    await hang.promise;
    return new Response("late");
  });
  const out = new HttpOutput(
    config(port, { timeoutMs: 60_000, batchSize: 10, flushIntervalMs: 0 }),
  );
  try {
    for (let i = 0; i < 25; i++) out.write(testEvent(i));
    assert(await poll(() => requests > 0 || undefined, 5000));
    const t0 = performance.now();
    await out.close(300);
    const took = performance.now() - t0;
    assert(took < 1500, `close took ${took} ms`);
    assertEquals(out.counters.sent, 0);
    assertEquals(out.counters.dropped, 25);
    assertEquals(out.counters.queued, 0);
  } finally {
    hang.resolve();
    await server.shutdown();
  }
});

Deno.test("http: onSettled() reports each event once, delivered or not", async () => {
  const port = freePort();
  const server = receiver(
    port,
    (events) => new Response("", { status: events.some((e) => e.event.id === "ev-3") ? 422 : 200 }),
  );
  const out = new HttpOutput(config(port, { batchSize: 2, flushIntervalMs: 1000 }));
  const settled = new Map<string, boolean>();
  out.onSettled((events, delivered) => {
    for (const e of events) {
      assert(!settled.has(e.event.id), `${e.event.id} settled twice`);
      settled.set(e.event.id, delivered);
    }
  });
  try {
    for (let i = 0; i < 6; i++) out.write(testEvent(i));
    await out.flush();
  } finally {
    await out.close();
    await server.shutdown();
  }
  assertEquals(Object.fromEntries(settled), {
    "ev-0": true,
    "ev-1": true,
    "ev-2": false,
    "ev-3": false,
    "ev-4": true,
    "ev-5": true,
  });
});

Deno.test("http: request bodies for every format", () => {
  const batch = [testEvent(1), testEvent(2, "deleted"), testEvent(3)];
  const ndjson = httpBody("ndjson", batch);
  assertEquals(ndjson.type, "application/x-ndjson");
  assertEquals(ndjson.body.split("\n").filter((l) => l).map((l) => JSON.parse(l)), batch);

  assertEquals(JSON.parse(httpBody("json_array", batch).body), batch);

  const bulk = httpBody("elastic_bulk", batch).body;
  assert(bulk.endsWith("\n"), "bulk bodies end with a newline");
  // create with _index: what a data stream accepts (it refuses index actions).
  assertEquals(bulk.trim().split("\n").map((l) => JSON.parse(l)), [
    { create: { _index: "logs-bpfink-default", _id: "ev-1" } },
    batch[0],
    { create: { _index: "logs-bpfink-default", _id: "ev-2" } },
    batch[1],
    { create: { _index: "logs-bpfink-default", _id: "ev-3" } },
    batch[2],
  ]);
  assertEquals(
    JSON.parse(httpBody("elastic_bulk", batch, "logs-fim-prod").body.split("\n")[0]),
    { create: { _index: "logs-fim-prod", _id: "ev-1" } },
  );

  const hec = httpBody("splunk_hec", batch).body.split("\n").map((l) => JSON.parse(l));
  assertEquals(hec.map((h) => h.event), batch);
  assertEquals(hec[0].time, Date.parse(batch[0]["@timestamp"]) / 1000);
  assertEquals(hec[0].host, "testhost");

  // One Loki stream per label set: job, host, action and severity level.
  const loki = JSON.parse(httpBody("loki", batch).body);
  assertEquals(loki.streams.length, 2);
  assertEquals(loki.streams[0].stream, {
    job: "bpfink",
    host: "testhost",
    action: "modified",
    severity: "medium",
  });
  assertEquals(loki.streams[0].values.map((v: [string, string]) => JSON.parse(v[1])), [
    batch[0],
    batch[2],
  ]);
  assertEquals(loki.streams[1].stream.action, "deleted");
  assertEquals(loki.streams[1].values.map((v: [string, string]) => JSON.parse(v[1])), [batch[1]]);
  assertEquals(loki.streams[0].values[0][0], `${Date.parse(batch[0]["@timestamp"])}000000`);
});

Deno.test("http: bulk responses without errors settle the whole batch", () => {
  const batch = [testEvent(1)];
  assertEquals(bulkItemErrors(batch, { errors: false, items: [{ index: { status: 201 } }] }), {});
  assertEquals(bulkItemErrors(batch, { errors: true, items: [{ create: { status: 409 } }] }), {
    retry: [],
    rejected: [],
  });
  assertEquals(bulkItemErrors(batch, { errors: true, items: [{ index: { status: 503 } }] }), {
    retry: batch,
    rejected: [],
  });
});

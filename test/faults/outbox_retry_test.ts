/**
 * The HTTP receiver is down for 15 s, then back: the event made while it
 * was down is delivered while the agent runs (no restart), once, with its
 * `event.id`, flagged as redelivered.
 */
import { assert, assertEquals } from "../assert.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { assertNoStackTrace, httpDaemonConfig } from "./fault_helpers.ts";

Deno.test("faults: HTTP receiver down 15 s then back → the event is delivered without a restart", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/app.conf`;
  await Deno.writeTextFile(watched, "a=1\n");
  const port = freePort();
  const config = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(
    config,
    httpDaemonConfig(dir.path, watched, port, { maxRetries: 1, flushInterval: "100ms" }),
  );
  const received: ChangeEvent[] = [];
  let server: Deno.HttpServer | undefined;
  const daemon = new Daemon(config);
  try {
    await daemon.started();
    const downAt = Date.now();
    await Deno.writeTextFile(watched, "a=2\n");
    assert(await waitFor(() => daemon.changes().length === 1, 5000), daemon.stderr);
    const sent = daemon.changes()[0];
    // The output gives up on its own (max_retries: 1) while the receiver is down.
    assert(await waitFor(() => /dropped \d+ events/.test(daemon.stderr), 10_000), daemon.stderr);
    await new Promise((r) => setTimeout(r, Math.max(0, 15_000 - (Date.now() - downAt))));
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
      for (const line of (await req.text()).split("\n")) if (line) received.push(JSON.parse(line));
      return new Response("ok");
    });
    const got = await waitFor(
      () => received.some((e) => e.event.id === sent.event.id),
      45_000,
    );
    assert(got, `not delivered after the receiver came back:\n${daemon.stderr}`);
    await new Promise((r) => setTimeout(r, 1000));
    const copies = received.filter((e) => e.event.id === sent.event.id);
    assertEquals(copies.length, 1, "delivered exactly once");
    assertEquals(copies[0].bpfink?.redelivered, true);
    assertEquals(copies[0].event.action, "modified");
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    await server?.shutdown();
  }
  assertNoStackTrace(daemon.stderr);
});

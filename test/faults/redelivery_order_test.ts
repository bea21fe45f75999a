/**
 * After an HTTP outage an output delivers in commit order: the events made
 * while the receiver was down, then one made just after it came back, reach
 * it once each, in the order the agent reported them (its stdout).
 */
import { assert, assertEquals } from "../assert.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { assertNoStackTrace, httpDaemonConfig } from "./fault_helpers.ts";

Deno.test("faults: after an HTTP outage the output delivers in commit order, each event once", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/a.conf`;
  await Deno.writeTextFile(watched, "h0\n");
  const port = freePort();
  const config = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(
    config,
    httpDaemonConfig(dir.path, watched, port, { maxRetries: 3, flushInterval: "500ms" }),
  );
  const received: ChangeEvent[] = [];
  let server: Deno.HttpServer | undefined;
  const daemon = new Daemon(config);
  try {
    await daemon.started();
    for (let i = 1; i <= 10; i++) {
      await Deno.writeTextFile(watched, `h${i}\n`, { append: true });
      await new Promise((r) => setTimeout(r, 1200));
    }
    assert(/dropped \d+ events/.test(daemon.stderr), `the output never gave up:\n${daemon.stderr}`);
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
      for (const line of (await req.text()).split("\n")) if (line) received.push(JSON.parse(line));
      return new Response("ok");
    });
    // A change made once the receiver is back.
    await Deno.writeTextFile(watched, "h11\n", { append: true });
    const ours = () => received.filter((e) => e.file?.path === watched);
    const want = () => daemon.changes().filter((e) => e.file?.path === watched);
    assert(await waitFor(() => want().length >= 11, 10_000), daemon.stderr);
    assert(
      await waitFor(() => ours().length >= want().length, 90_000),
      `${ours().length} of ${want().length} delivered:\n${daemon.stderr}`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const got = ours().map((e) => e.event.id);
    assertEquals(new Set(got).size, got.length, "delivered twice");
    assertEquals(got, want().map((e) => e.event.id), "not in commit order");
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    await server?.shutdown();
  }
  assertNoStackTrace(daemon.stderr);
});

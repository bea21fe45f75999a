/**
 * carbon-cache (graphite-carbon) receives the Graphite plaintext push: from
 * a pusher the test drives, across a carbon restart, and from the daemon.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { Daemon } from "./daemon.ts";
import { startCarbon } from "./services/carbon.ts";
import { freePort, poll } from "./services/service.ts";
import { daemonConfig } from "./services/daemon_config.ts";
import { MetricsRegistry } from "../src/metrics/metrics_registry.ts";
import { GraphitePusher } from "../src/metrics/graphite_push.ts";

/** The newest non-null value in a whisper file (whisper-fetch from python3-whisper). */
async function lastValue(wsp: string): Promise<number | undefined> {
  try {
    Deno.statSync(wsp);
  } catch {
    return undefined;
  }
  const r = await run([
    "whisper-fetch",
    "--json",
    "--from",
    `${Math.floor(Date.now() / 1000) - 600}`,
    wsp,
  ]);
  if (r.code !== 0) return undefined;
  const values = (JSON.parse(r.stdout) as { values: (number | null)[] }).values.filter((v) =>
    v !== null
  );
  return values.at(-1) ?? undefined;
}

Deno.test("graphite: carbon-cache stores the pushed values; the pusher reconnects after carbon restarts", async () => {
  await using dir = await tempDir();
  const port = freePort();
  const registry = new MetricsRegistry();
  const events = registry.counter("bpfink_events_total", "Change events.", ["action"]);
  registry.pulled("bpfink_kernel_object_info", "Kernel object.", "gauge", () => [
    { labels: { strategy: "tracepoint", object: "fim-tp.bpf.o" }, value: 1 },
  ]);
  events.inc({ action: "modified" }, 5);
  // Carbon is not up yet: pushes fail and are counted, nothing throws.
  const pusher = new GraphitePusher(registry, `127.0.0.1:${port}`, "test.host-1", 0);
  try {
    await pusher.push();
    assertEquals(pusher.counters.failed, 1);
    let carbon = await startCarbon(dir.path, port);
    try {
      await pusher.push();
      assertEquals(pusher.counters.sent, 1, pusher.counters.lastError);
      const base = `${carbon.storage}/test/host-1`;
      const v = await poll(
        () => lastValue(`${base}/bpfink_events_total/modified.wsp`),
        20_000,
        200,
      );
      assertEquals(v, 5, carbon.service.output);
      assertEquals(
        await poll(
          () => lastValue(`${base}/bpfink_kernel_object_info/tracepoint/fim-tp_bpf_o.wsp`),
          20_000,
          200,
        ),
        1,
      );
      // Carbon restarts: the next push notices the closed connection and reconnects.
      await carbon.stop();
      carbon = await startCarbon(dir.path, port);
      events.inc({ action: "modified" }, 2);
      await new Promise((r) => setTimeout(r, 1100)); // a new 1 s slot in the whisper file
      const pushed = await poll(
        async () => {
          await pusher.push();
          return (await lastValue(`${base}/bpfink_events_total/modified.wsp`)) === 7 || undefined;
        },
        20_000,
        500,
      );
      assert(
        pushed,
        `after the restart: ${JSON.stringify(pusher.counters)}\n${carbon.service.output}`,
      );
    } finally {
      await carbon.stop();
    }
  } finally {
    await pusher.close();
  }
});

Deno.test("graphite: a bad address fails at construction, not in the interval", () => {
  let threw = false;
  try {
    new GraphitePusher(new MetricsRegistry(), "no-port", "bpfink", 1000);
  } catch {
    threw = true;
  }
  assert(threw);
});

Deno.test({
  name: "graphite: carbon-cache receives the daemon's push",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    await using carbon = await startCarbon(dir.path);
    const { config, watched } = await daemonConfig(
      dir.path,
      `  graphite:\n    address: 127.0.0.1:${carbon.port}\n    prefix: testhost\n    interval: 1s\n`,
    );
    const d = new Daemon(config);
    try {
      await d.started();
      await Deno.writeTextFile(watched, "a=3\n");
      assert(await waitFor(() => d.changes().some((e) => e.event.action === "modified")));
      const wsp = `${carbon.storage}/testhost/bpfink_events_total/modified.wsp`;
      const v = await poll(() => lastValue(wsp), 20_000, 250);
      assertEquals(v, 1, `carbon-cache has no value in ${wsp}`);
    } finally {
      await d.stop();
    }
  },
});

/**
 * The Prometheus port is already bound by an unprivileged user: the daemon
 * warns, counts the fault, keeps monitoring, and binds once the port is free.
 */
import { assert, assertEquals } from "../assert.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { daemonConfig } from "../services/daemon_config.ts";
import { freePort } from "../services/service.ts";
import { assertNoStackTrace, portHeldByNobody } from "./fault_helpers.ts";

Deno.test("faults: metrics port pre-bound by nobody → warning and metric, monitoring goes on, binds later", async () => {
  await using dir = await tempDir();
  const port = freePort();
  const squatter = await portHeldByNobody(port);
  let squatting = true;
  const { config, watched } = await daemonConfig(
    dir.path,
    `  prometheus:\n    listen: 127.0.0.1:${port}\n`,
  );
  // The strategy choice is not under test: skip the other objects' load attempts.
  await Deno.writeTextFile(config, "strategy: tracepoint\n", { append: true });
  const daemon = new Daemon(config);
  try {
    await daemon.started();
    assert(
      await waitFor(() => daemon.stderr.includes(`cannot listen on 127.0.0.1:${port}`), 5000),
      daemon.stderr,
    );
    assert(daemon.stderr.includes("monitoring goes on"), daemon.stderr);
    // Monitoring goes on while the endpoint is down.
    await Deno.writeTextFile(watched, "a=2\n");
    assert(
      await waitFor(() => daemon.changes().some((e) => e.file?.path === watched), 5000),
      "no event while the metrics port was taken",
    );
    // The port comes free: the endpoint binds on a retry and reports the fault it had.
    await squatter[Symbol.asyncDispose]();
    squatting = false;
    let text = "";
    const ok = await (async () => {
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/metrics`);
          text = await r.text();
          if (r.ok) return true;
        } catch { /* not bound yet */ }
        await new Promise((r) => setTimeout(r, 200));
      }
      return false;
    })();
    assert(ok, `the endpoint never bound after the port came free:\n${daemon.stderr}`);
    assert(text.includes('bpfink_accessory_faults_total{part="metrics_endpoint"} 1'), text);
    assert(text.includes('bpfink_accessory_failing{part="metrics_endpoint"} 0'), text);
    assertEquals(
      daemon.changes().filter((e) => e.file?.path === watched && e.event.action === "modified")
        .length,
      1,
    );
  } finally {
    if (squatting) await squatter[Symbol.asyncDispose]();
    const code = await daemon.stop();
    assertEquals(code, 0, daemon.stderr);
  }
  assertNoStackTrace(daemon.stderr);
});

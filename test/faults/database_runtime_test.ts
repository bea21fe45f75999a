/**
 * The database lost while the daemon runs: overwritten in place (corrupt)
 * or deleted. Every change is still delivered, the fault is counted, the
 * database is rebuilt and the loss reported once as `baseline_reset`; a
 * restart then has nothing to report.
 */
import { assert, assertEquals } from "../assert.ts";
import { run, tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { assertNoStackTrace, corruptFirstPage } from "./fault_helpers.ts";

/** The audit's layout: copies of passwd and shadow, a recursive app tree, a file output. */
async function layout(d: string, port: number) {
  await Deno.mkdir(`${d}/etc`);
  await Deno.mkdir(`${d}/app/sub`, { recursive: true });
  await Deno.writeTextFile(
    `${d}/etc/passwd`,
    "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n",
  );
  await Deno.writeTextFile(`${d}/etc/shadow`, "root:*:19000:0:99999:7:::\nalice:!:19000::::::\n");
  for (let i = 0; i < 5; i++) await Deno.writeTextFile(`${d}/app/sub/f${i}.conf`, `v=${i}\n`);
  const config = `${d}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${d}/etc/passwd\n  - ${d}/etc/shadow\n  - path: ${d}/app\n    recursive: true\n` +
      `database: ${d}/db/bpfink.db\nkey_file: ${d}/db/hmac.key\nlog_level: info\n` +
      `strategy: tracepoint\nreconcile_interval: 2s\noutputs:\n  - type: stdout\n    format: json\n` +
      `  - type: file\n    path: ${d}/out/events.json\n` +
      `metrics:\n  prometheus:\n    listen: 127.0.0.1:${port}\n`,
  );
  return config;
}

const scrape = async (port: number) => {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return "";
  }
};

const added = (events: ChangeEvent[], name: string) =>
  events.filter((e) => e.event.action === "user_added" && e.user?.target?.name === name);

Deno.test("faults: database overwritten in place while running → changes still delivered, counted, rebuilt from memory, baseline_reset once", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const port = freePort();
  const config = await layout(d, port);
  let daemon: Daemon | undefined = new Daemon(config);
  try {
    await daemon.started();
    await corruptFirstPage(`${d}/db/bpfink.db`);
    await Deno.writeTextFile(`${d}/etc/passwd`, "toor:x:0:0::/root:/bin/sh\n", { append: true });
    await Deno.writeTextFile(`${d}/app/sub/f1.conf`, "v=changed\n");
    const dm = daemon;
    assert(
      await waitFor(() => added(dm.events, "toor").length === 1, 10_000),
      dm.stderr + JSON.stringify(dm.changes().map((e) => [e.event.action, e.file?.path, e.user])),
    );
    assert(
      await waitFor(
        () =>
          dm.changes().some((e) =>
            e.event.action === "modified" && /f1\.conf$/.test(String(e.file?.path))
          ),
        10_000,
      ),
      dm.stderr,
    );
    assert(
      await waitFor(() => dm.events.some((e) => e.event.action === "baseline_reset"), 10_000),
      dm.stderr,
    );
    const resets = dm.events.filter((e) => e.event.action === "baseline_reset");
    assertEquals(resets.length, 1, JSON.stringify(resets));
    assertEquals(resets[0].bpfink?.rebuilt_from, "memory", JSON.stringify(resets[0]));
    assert(
      (await Deno.stat(String(resets[0].bpfink?.moved_to))).isFile,
      "the corrupt file was kept",
    );
    // status and events read the rebuilt database: what the agent is, and the reset.
    const status = await run(["./bpfink", "status", "--config", config]);
    assertEquals(status.code, 0, status.stdout + status.stderr);
    assert(/object: +tracepoint/.test(status.stdout), status.stdout);
    // The history is an output of its own: a reset it could not keep while the store wrote the
    // database again waits in the outbox and is kept later. CI once asked before it was kept.
    const eventsOf = () =>
      run(["./bpfink", "events", "--config", config, "--action", "baseline_reset"]);
    let events = await eventsOf();
    for (let i = 0; i < 20 && events.code === 0 && !events.stdout.includes("baseline_reset"); i++) {
      await new Promise((r) => setTimeout(r, 250));
      events = await eventsOf();
    }
    assert(
      events.stdout.includes("baseline_reset"),
      `the history never held the reset: ${events.stdout}${events.stderr}`,
    );
    assertEquals(events.code, 0, events.stderr);
    const metrics = await scrape(port);
    assert(metrics.includes('bpfink_accessory_faults_total{part="database"} 1'), metrics);
    // The file output got them too.
    const file = await Deno.readTextFile(`${d}/out/events.json`);
    assert(
      file.includes(added(dm.events, "toor")[0].event.id),
      "the file output missed user_added",
    );
    // Monitoring goes on against the baseline in memory: one more user is one user_added.
    await Deno.writeTextFile(`${d}/etc/passwd`, "eve:x:0:0::/root:/bin/sh\n", { append: true });
    assert(await waitFor(() => added(dm.events, "eve").length === 1, 10_000), dm.stderr);
    await new Promise((r) => setTimeout(r, 2500)); // a reconcile: nothing new
    assertEquals(added(dm.events, "toor").length, 1);
    assertEquals(dm.events.filter((e) => e.event.action === "baseline_reset").length, 1);
    assertEquals(await dm.stop(), 0, dm.stderr);
    assertNoStackTrace(dm.stderr);

    // The rebuilt database holds the baseline: a restart reports nothing and no reset.
    daemon = new Daemon(config);
    await daemon.started();
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(daemon.changes().map((e) => `${e.event.action} ${e.file?.path}`), []);
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    daemon = undefined;
  } finally {
    await daemon?.stop().catch(() => {}); // already exited: nothing to stop
  }
});

Deno.test("faults: database deleted while running → baseline_reset with the reason, restored from the open one; a user added while down is reported", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const port = freePort();
  const config = await layout(d, port);
  let daemon: Daemon | undefined = new Daemon(config);
  try {
    await daemon.started();
    for (const e of Deno.readDirSync(`${d}/db`)) {
      if (e.name.startsWith("bpfink.db")) await Deno.remove(`${d}/db/${e.name}`);
    }
    const dm = daemon;
    assert(
      await waitFor(() => dm.events.some((e) => e.event.action === "baseline_reset"), 15_000),
      dm.stderr,
    );
    const reset = dm.events.find((e) => e.event.action === "baseline_reset")!;
    // Deleted; or "replaced" when a write made the file anew before the check saw it gone.
    assert(/deleted|replaced/.test(String(reset.bpfink?.reason)), JSON.stringify(reset));
    assertEquals(reset.bpfink?.rebuilt_from, "copy");
    assert((await Deno.stat(`${d}/db/bpfink.db`)).isFile, "the database was not written again");
    assertEquals(await dm.stop(), 0, dm.stderr);
    assertNoStackTrace(dm.stderr);

    // Down: a uid-0 user is added; the next start reports it (the baseline was kept).
    await Deno.writeTextFile(`${d}/etc/passwd`, "toor:x:0:0::/root:/bin/sh\n", { append: true });
    daemon = new Daemon(config);
    await daemon.started();
    const again = daemon;
    assert(await waitFor(() => added(again.events, "toor").length === 1, 5000), again.stderr);
    assertEquals(added(again.events, "toor")[0].event.reason, "offline");
    assertEquals(again.events.filter((e) => e.event.action === "baseline_reset").length, 0);
    assertEquals(await again.stop(), 0, again.stderr);
    daemon = undefined;
  } finally {
    await daemon?.stop().catch(() => {}); // already exited: nothing to stop
  }
});

Deno.test("faults: database deleted while down (the host key left) → baseline_reset that says the baseline was lost, never silent", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const config = await layout(d, freePort());
  let daemon: Daemon | undefined = new Daemon(config);
  try {
    await daemon.started();
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    for (const e of Deno.readDirSync(`${d}/db`)) {
      if (e.name.startsWith("bpfink.db")) await Deno.remove(`${d}/db/${e.name}`);
    }
    await Deno.writeTextFile(`${d}/etc/passwd`, "toor:x:0:0::/root:/bin/sh\n", { append: true });
    daemon = new Daemon(config);
    await daemon.started();
    const dm = daemon;
    assert(
      await waitFor(() => dm.events.some((e) => e.event.action === "baseline_reset"), 5000),
      dm.stderr,
    );
    const reset = dm.events.find((e) => e.event.action === "baseline_reset")!;
    assert(/host key .* was lost/.test(String(reset.bpfink?.reason)), JSON.stringify(reset));
    assertEquals(await dm.stop(), 0, dm.stderr);
    // Said once: the next start has nothing to say.
    daemon = new Daemon(config);
    await daemon.started();
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(daemon.changes().map((e) => e.event.action), []);
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    daemon = undefined;
  } finally {
    await daemon?.stop().catch(() => {}); // already exited: nothing to stop
  }
});

Deno.test("faults: kill -9 during the first baseline → the next start says so once and takes it again, no false created events", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const config = await layout(d, freePort());
  for (let i = 0; i < 20; i++) {
    await Deno.mkdir(`${d}/app/d${i}`);
    for (let j = 0; j < 1000; j++) await Deno.writeTextFile(`${d}/app/d${i}/f${j}`, `${i}.${j}\n`);
  }
  const first = new Daemon(config);
  // Killed once the first baseline has committed some of the tree, well before its end: it is
  // written straight into the file (beginBulk), or through the write-ahead log where it could not.
  const size = (f: string) => {
    try {
      return Deno.statSync(f).size;
    } catch {
      return 0;
    }
  };
  const partial = await waitFor(
    () => size(`${d}/db/bpfink.db`) > 256 * 1024 || size(`${d}/db/bpfink.db-wal`) > 256 * 1024,
    60_000,
  );
  first.child.kill("SIGKILL");
  await first.child.status;
  assert(partial, first.stderr);
  assert(!first.events.some((e) => e.event.action === "started"), "the first baseline finished");
  // check cannot compare with half a baseline: it says so (2), never lists false differences.
  const check = await run(["./bpfink", "check", "--config", config]);
  assertEquals(check.code, 2, check.stdout + check.stderr);
  assert(check.stderr.includes("did not finish"), check.stderr);
  let daemon: Daemon | undefined = new Daemon(config);
  try {
    await daemon.started();
    const dm = daemon;
    await new Promise((r) => setTimeout(r, 500));
    const changes = dm.changes();
    assertEquals(changes.filter((e) => e.event.action === "created").length, 0);
    const resets = changes.filter((e) => e.event.action === "baseline_reset");
    assertEquals(resets.length, 1, dm.stderr);
    assertEquals(resets[0].bpfink?.rebuilt_from, "unfinished");
    assertEquals(await dm.stop(), 0, dm.stderr);
    // Now complete: a file added while down is reported as created; no reset again.
    await Deno.writeTextFile(`${d}/app/d19/new`, "x\n");
    daemon = new Daemon(config);
    await daemon.started();
    const again = daemon;
    assert(
      await waitFor(() => again.changes().some((e) => e.event.action === "created"), 5000),
      again.stderr,
    );
    assertEquals(
      again.changes().map((e) => `${e.event.action} ${e.file?.path}`),
      [`created ${d}/app/d19/new`],
    );
    assertEquals(await again.stop(), 0, again.stderr);
    daemon = undefined;
  } finally {
    await daemon?.stop().catch(() => {}); // already exited: nothing to stop
  }
});

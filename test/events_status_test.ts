/**
 * `bpfink events` and `bpfink status` against a real daemon: the history it
 * keeps in its database is queried by time, path and action, as a table
 * (escaped) and as JSON; status shows the object, backlog and reconcile while
 * it runs and says when it does not.
 */
import { assert, assertEquals, assertIncludes } from "./assert.ts";
import { Daemon } from "./daemon.ts";
import { checkEvent } from "./ecs_validate.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { freePort } from "./services/service.ts";
import { parseWhen } from "../src/cli/events_command.ts";

Deno.test("events and status: query the daemon's history; status while running and after", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/etc`;
  await Deno.mkdir(tree);
  await Deno.writeTextFile(`${tree}/a.conf`, "a=1\n");
  await Deno.writeTextFile(`${tree}/b.conf`, "b=1\n");
  const port = freePort();
  const config = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${tree}\ndatabase: ${dir.path}/state/bpfink.db\n` +
      `key_file: ${dir.path}/state/key\nlog_level: warning\noutputs:\n  - type: stdout\n` +
      `    format: json\nmetrics:\n  prometheus:\n    listen: 127.0.0.1:${port}\n`,
  );
  const d = new Daemon(config);
  try {
    await d.started();
    await Deno.writeTextFile(`${tree}/a.conf`, "a=2\n");
    await run(["chmod", "600", `${tree}/b.conf`]);
    await run(["touch", `${tree}/evil\x1b[2J.conf`]);
    assert(await waitFor(() => d.changes().length >= 3, 10_000), JSON.stringify(d.changes()));

    const all = await run(["./bpfink", "events", "--config", config, "--json"]);
    assertEquals(all.code, 0, all.stderr);
    const got = all.stdout.trim().split("\n").map((l) => JSON.parse(l));
    for (const e of got) checkEvent(e, "bpfink events --json");
    assertEquals(got.map((e) => e.event.id), d.events.map((e) => e.event.id));

    const mod = await run([
      "./bpfink",
      "events",
      "--config",
      config,
      "--action",
      "modified",
      "--path",
      `${tree}/*.conf`,
      "--since",
      "1h",
    ]);
    assertEquals(mod.code, 0, mod.stderr);
    const rows = mod.stdout.trim().split("\n");
    assertEquals(rows.length, 1, mod.stdout);
    assertIncludes(rows[0], `modified             medium   ${tree}/a.conf`);
    const table = (await run(["./bpfink", "events", "--config", config])).stdout;
    assertIncludes(table, "evil\\x1b[2J.conf"); // escaped: no terminal control reaches the screen
    assert(!table.includes("\x1b"), table);
    const future = await run(["./bpfink", "events", "--config", config, "--since", "2099-01-01"]);
    assertEquals([future.code, future.stdout], [0, ""]);
    const bad = await run(["./bpfink", "events", "--config", config, "--since", "yesterday"]);
    assertEquals(bad.code, 2);
    assertIncludes(bad.stderr, "--since must be a date");

    const st = await run(["./bpfink", "status", "--config", config]);
    assertEquals(st.code, 0, st.stdout + st.stderr);
    assertIncludes(st.stdout, `agent:      running (pid ${d.child.pid})`);
    assert(/object: {5}(fentry|kprobe|tracepoint) \(fim-\w+\.bpf\.o\)/.test(st.stdout), st.stdout);
    assertIncludes(st.stdout, "backlog:    0 events");
    assertIncludes(st.stdout, "(0 MiB of its 256 MiB, outbox_max_bytes)");
    assertIncludes(st.stdout, "modified 1");
    assertIncludes(st.stdout, "reconcile:");
    assertIncludes(st.stdout, "kernel cost:");
    const sj = JSON.parse((await run(["./bpfink", "status", "--config", config, "--json"])).stdout);
    assertEquals([sj.running, sj.pid, sj.outboxBacklog], [true, d.child.pid, 0]);
    assert(sj.programs.length > 0, JSON.stringify(sj));
  } finally {
    await d.stop();
  }
  const after = await run(["./bpfink", "status", "--config", config]);
  assertEquals(after.code, 1);
  assertIncludes(after.stdout, "agent:      not running");
});

Deno.test("events: --since and --until take a date or a duration ago", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  assertEquals(parseWhen("2h", "--since", now).toISOString(), "2026-12-02T10:00:00.000Z");
  assertEquals(parseWhen("7d", "--since", now).toISOString(), "2026-11-25T12:00:00.000Z");
  assertEquals(parseWhen("2026-12-01", "--since", now).toISOString(), "2026-12-01T00:00:00.000Z");
});

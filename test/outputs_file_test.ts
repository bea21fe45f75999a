/**
 * The file output: JSON lines, 0600, reopened for logrotate, and a file that
 * cannot be written costs counted drops, never a blocked write().
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { Daemon } from "./daemon.ts";
import { startRsyslog } from "./services/rsyslog.ts";
import { testEvent } from "./services/events.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { FileOutput } from "../src/outputs/file_output.ts";

const lines = (path: string): ChangeEvent[] =>
  Deno.readTextFileSync(path).split("\n").filter((l) => l).map((l) => JSON.parse(l));

Deno.test("file: JSON lines, 0600, reopened after logrotate moves the file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/events.json`;
  const out = new FileOutput(path);
  const first = testEvent(1, "user_added", { user: { target: { name: "ünïcødé", id: "0" } } });
  out.write(first);
  await out.flush();
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  await Deno.rename(path, `${path}.1`);
  out.reopen();
  out.write(testEvent(2));
  await out.close();
  assertEquals(lines(`${path}.1`), [first]);
  assertEquals(lines(path).map((e) => e.event.id), ["ev-2"]);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  assertEquals(out.counters, { sent: 2, dropped: 0, errors: 0, queued: 0 });
});

Deno.test("file: rotating while events stream in loses and repeats nothing", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/events.json`;
  const out = new FileOutput(path);
  for (let i = 0; i < 6000; i++) {
    out.write(testEvent(i));
    if (i % 1000 === 999) {
      // logrotate: move the file, then SIGHUP (here: reopen) while writes are in flight.
      await new Promise((r) => setTimeout(r, 1));
      await Deno.rename(path, `${path}.${i}`).catch(() => {});
      out.reopen();
    }
  }
  await out.close();
  const ids: string[] = [];
  for (const f of Deno.readDirSync(dir.path)) {
    ids.push(...lines(`${dir.path}/${f.name}`).map((e) => e.event.id));
  }
  assertEquals(ids.length, 6000);
  assertEquals(new Set(ids).size, 6000);
  assertEquals(out.counters.sent, 6000);
});

Deno.test("file: a file that cannot be opened is retried, then counted as dropped; write() never waits", async () => {
  await using dir = await tempDir();
  // A missing directory is made; one blocked by a plain file cannot be.
  await Deno.writeTextFile(`${dir.path}/missing-dir`, "in the way\n");
  const path = `${dir.path}/missing-dir/events.json`;
  const out = new FileOutput(path, 100, { backoffBaseMs: 10, maxRetries: 3 });
  const t0 = performance.now();
  for (let i = 0; i < 300; i++) out.write(testEvent(i));
  assert(performance.now() - t0 < 100, "write() blocked");
  await out.flush();
  assertEquals(out.counters.sent, 0);
  assertEquals(out.counters.dropped, 300);
  assert(out.lastError?.includes("missing-dir"), out.lastError);
  // The way is clear: the directory is made and the next events get through.
  await Deno.remove(`${dir.path}/missing-dir`);
  out.write(testEvent(300));
  await out.close();
  assertEquals(lines(path).map((e) => e.event.id), ["ev-300"]);
  assertEquals(out.counters.sent + out.counters.dropped, 301);
});

Deno.test({
  name:
    "file + syslog outputs in the daemon: events reach both, SIGHUP reopens the file after logrotate",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    await using rsyslog = await startRsyslog(`${dir.path}`);
    const watched = `${dir.path}/app.conf`;
    await Deno.writeTextFile(watched, "a=1\n");
    const events = `${dir.path}/events.json`;
    const config = `${dir.path}/config.yaml`;
    await Deno.writeTextFile(
      config,
      `watches:\n  - ${watched}\ndatabase: ${dir.path}/db.sqlite\nkey_file: ${dir.path}/hmac.key\n` +
        `log_level: warning\noutputs:\n  - type: stdout\n    format: json\n` +
        `  - type: file\n    path: ${events}\n` +
        `  - type: syslog\n    transport: tcp\n    address: 127.0.0.1:${rsyslog.tcpPort}\n`,
    );
    const d = new Daemon(config);
    try {
      await d.started();
      await Deno.writeTextFile(watched, "a=2\n");
      const inFile = (path: string, action: string) => () => {
        try {
          return lines(path).some((e) => e.event.action === action && e.file?.path === watched);
        } catch {
          return false;
        }
      };
      assert(await waitFor(inFile(events, "modified"), 10_000), d.stderr);
      assertEquals((await Deno.stat(events)).mode! & 0o777, 0o600);
      // logrotate: move the file away, then SIGHUP.
      await Deno.rename(events, `${events}.1`);
      d.child.kill("SIGHUP");
      await new Promise((r) => setTimeout(r, 200));
      await Deno.remove(watched);
      assert(await waitFor(inFile(events, "deleted"), 10_000), d.stderr);
      assert(!lines(`${events}.1`).some((e) => e.event.action === "deleted"));
      const got = await rsyslog.waitFor(3);
      const actions = got.map((r) => r.msgId);
      assert(actions.includes("modified") && actions.includes("deleted"), actions.join(","));
    } finally {
      assertEquals(await d.stop(), 0);
    }
  },
});

/**
 * The file output: JSON lines, 0600, reopened for logrotate, and a file that
 * cannot be written costs counted drops, never a blocked write().
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { smallTmpfs } from "./faults/fault_helpers.ts";
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
        `log_level: info\noutputs:\n  - type: stdout\n    format: json\n` +
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
      // The new file starts with the start record; SIGHUP says what it did, and what it does not.
      const started = d.events.find((e) => e.event.action === "started")!;
      assertEquals(lines(events)[0].event.action, "started");
      assertEquals(lines(events)[0].event.id, started.event.id);
      assert(
        /SIGHUP: reopened file:\S+ .*the config is not reloaded/.test(d.stderr),
        d.stderr,
      );
      const got = await rsyslog.waitFor(3);
      const actions = got.map((r) => r.msgId);
      assert(actions.includes("modified") && actions.includes("deleted"), actions.join(","));
    } finally {
      assertEquals(await d.stop(), 0);
    }
  },
});

/** Every line of `path` parsed; fails on a line that is not one whole JSON event. */
function wholeLines(path: string): ChangeEvent[] {
  const text = Deno.readTextFileSync(path);
  assert(text === "" || text.endsWith("\n"), `the last line is torn: ${text.slice(-80)}`);
  return text.split("\n").filter((l) => l).map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new Error(`line ${i + 1} is not whole JSON: ${l.slice(0, 200)}`);
    }
  });
}

Deno.test({
  name: "file: a full disk (ENOSPC mid-batch) leaves every line whole and each event once",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    await using out = await smallTmpfs(dir.path, "1m");
    const path = `${out.path}/events.json`;
    const o = new FileOutput(path, 1000, { backoffBaseMs: 20, backoffMaxMs: 200, maxRetries: 50 });
    o.write(testEvent(0));
    await o.flush();
    // The rest of the tmpfs filled: the file's last page has room for part of the next batch.
    const dd = await run(["dd", "if=/dev/zero", `of=${out.path}/fill`, "bs=4k"]);
    assert(dd.code !== 0, "dd filled the tmpfs");
    for (let i = 1; i <= 40; i++) o.write(testEvent(i));
    assert(await waitFor(() => o.counters.errors > 0, 5000), "the write never failed");
    await Deno.remove(`${out.path}/fill`);
    await o.flush(10_000);
    await o.close();
    const ids = wholeLines(path).map((e) => e.event.id);
    assertEquals(ids, Array.from({ length: 41 }, (_, i) => `ev-${i}`));
    assertEquals(o.counters.sent, 41);
    assertEquals(o.counters.dropped, 0);
  },
});

Deno.test("file: a torn last line left by an earlier write is cut before the next line", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/events.json`;
  const whole = JSON.stringify(testEvent(0)) + "\n";
  await Deno.writeTextFile(path, whole + JSON.stringify(testEvent(1)).slice(0, 50), {
    mode: 0o600,
  });
  const o = new FileOutput(path);
  o.write(testEvent(1));
  await o.close();
  assertEquals(wholeLines(path).map((e) => e.event.id), ["ev-0", "ev-1"]);
});

Deno.test("file: the directory deleted under the output is made again, with the events", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/out/events.json`;
  const o = new FileOutput(path, 1000, { backoffBaseMs: 20, maxRetries: 3 });
  o.write(testEvent(0));
  await o.flush();
  await Deno.remove(`${dir.path}/out`, { recursive: true });
  o.write(testEvent(1));
  await o.flush();
  // Another file under the name: the output follows the name too.
  await Deno.rename(path, `${path}.old`);
  await Deno.writeTextFile(path, "", { mode: 0o600 });
  o.write(testEvent(2));
  await o.close();
  assertEquals(wholeLines(path).map((e) => e.event.id), ["ev-2"]);
  assertEquals(wholeLines(`${path}.old`).map((e) => e.event.id), ["ev-1"]);
  assertEquals(o.counters, { sent: 3, dropped: 0, errors: 0, queued: 0 });
});

/** A daemon config with a JSON stdout and a file output at `events`, watching `watched`. */
async function fileDaemonConfig(dir: string, watched: string, events: string): Promise<string> {
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${watched}\ndatabase: ${dir}/state/db.sqlite\nkey_file: ${dir}/state/hmac.key\n` +
      `log_level: info\nstrategy: tracepoint\noutputs:\n  - type: stdout\n    format: json\n` +
      `  - type: file\n    path: ${events}\n`,
  );
  return config;
}

Deno.test({
  name: "file output in the daemon: its directory deleted while running is made again, no SIGHUP",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    const watched = `${dir.path}/app.conf`;
    await Deno.writeTextFile(watched, "a=0\n");
    const events = `${dir.path}/out/events.json`;
    const d = new Daemon(await fileDaemonConfig(dir.path, watched, events));
    try {
      await d.started();
      assert(await waitFor(() => existsSync(events), 5000), d.stderr);
      await Deno.remove(`${dir.path}/out`, { recursive: true });
      for (let i = 1; i <= 3; i++) {
        await Deno.writeTextFile(watched, `a=${i}\n`, { append: true });
        await new Promise((r) => setTimeout(r, 300));
      }
      const reported = () =>
        d.changes().filter((e) => e.file?.path === watched).map((e) => e.event.id);
      const inFile = () => {
        try {
          return wholeLines(events).filter((e) => e.file?.path === watched).map((e) => e.event.id);
        } catch {
          return [];
        }
      };
      assert(
        await waitFor(() => reported().length === 3 && inFile().length === 3, 10_000),
        `${inFile()}\n${d.stderr}`,
      );
      assertEquals(inFile(), reported());
      assertEquals((await Deno.stat(`${dir.path}/out`)).mode! & 0o777, 0o700);
    } finally {
      assertEquals(await d.stop(), 0, d.stderr);
    }
  },
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

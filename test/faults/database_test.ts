/**
 * Database faults on real parts: bytes of the database overwritten, a
 * second daemon on the same database, and a full disk (a small tmpfs that
 * the test fills and empties again).
 */
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { run, tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { assertNoStackTrace } from "./fault_helpers.ts";

async function writeConfig(dir: string, state: string, watched: string, more = "") {
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    path,
    `watches:\n  - ${watched}\ndatabase: ${state}/bpfink.db\nkey_file: ${dir}/hmac/hmac.key\n` +
      `log_level: info\nstrategy: tracepoint\noutputs:\n  - type: stdout\n    format: json\n${more}`,
  );
  return path;
}

const modifiedOf = (events: ChangeEvent[], path: string) =>
  events.filter((e) => e.event.action === "modified" && e.file?.path === path);

Deno.test("faults: overwritten database bytes → moved aside, baseline rebuilt, baseline_reset; a second daemon is refused", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/app.conf`;
  await Deno.writeTextFile(watched, "a=1\n".repeat(2000));
  const state = `${dir.path}/state`;
  const config = await writeConfig(dir.path, state, watched);
  const first = new Daemon(config);
  await first.started();
  // One instance per database: a second daemon on it is refused in one sentence.
  const second = await run(["./bpfink", "run", "--config", config]);
  assertEquals(second.code, 1, second.stderr);
  assertIncludes(
    second.stderr,
    `bpfink: another bpfink (pid ${first.child.pid}) is using the database ${state}/bpfink.db`,
  );
  assertNoStackTrace(second.stderr);
  assertEquals(await first.stop(), 0, first.stderr);

  // Overwrite the second page (the tables' b-trees) with junk.
  const f = await Deno.open(`${state}/bpfink.db`, { write: true });
  await f.seek(4096, Deno.SeekMode.Start);
  await f.write(new Uint8Array(8192).fill(0xa5));
  f.close();

  const third = new Daemon(config);
  try {
    await third.started();
    assert(
      await waitFor(() => third.events.some((e) => e.event.action === "baseline_reset"), 5000),
      third.stderr,
    );
    const reset = third.events.find((e) => e.event.action === "baseline_reset")!;
    const moved = String(reset.bpfink?.moved_to);
    assert(/malformed|not a database/.test(String(reset.bpfink?.reason)), JSON.stringify(reset));
    assert((await Deno.stat(moved)).isFile, `the corrupt database was not kept at ${moved}`);
    // Monitoring works on the rebuilt baseline.
    await Deno.writeTextFile(watched, "a=2\n");
    assert(await waitFor(() => modifiedOf(third.events, watched).length === 1, 5000), third.stderr);
  } finally {
    assertEquals(await third.stop(), 0, third.stderr);
  }
  assertNoStackTrace(third.stderr);
});

Deno.test("faults: disk full → events still delivered, metric and warning, the baseline catches up when space returns", async () => {
  await using dir = await tempDir();
  const state = `${dir.path}/state`;
  await Deno.mkdir(state, { mode: 0o700 });
  const mount = await run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", state]);
  assertEquals(mount.code, 0, mount.stderr);
  const port = freePort();
  let daemon: Daemon | undefined;
  try {
    const watched = `${dir.path}/app.conf`;
    await Deno.writeTextFile(watched, "v=0\n");
    const config = await writeConfig(
      dir.path,
      state,
      watched,
      `metrics:\n  prometheus:\n    listen: 127.0.0.1:${port}\n`,
    );
    daemon = new Daemon(config);
    await daemon.started();
    const scrape = async () => {
      try {
        return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      } catch {
        return "";
      }
    };
    // Fill the file system.
    const fill = await run(["dd", "if=/dev/zero", `of=${state}/filler`, "bs=64k"]);
    assertIncludes(fill.stderr, "No space left on device");

    // 20 changes, each one large enough that the baseline's new rows cannot fit.
    for (let i = 1; i <= 20; i++) {
      await Deno.writeTextFile(watched, `v=${i}\n` + `line ${i} `.repeat(8000) + "\n");
      const d = daemon;
      assert(
        await waitFor(() => modifiedOf(d.events, watched).length === i, 10_000),
        `change ${i} was not delivered while the disk was full:\n${daemon.stderr}`,
      );
    }
    assertIncludes(daemon.stderr, "events are delivered from memory; the baseline is behind");
    const during = await scrape();
    assert(/^bpfink_baseline_behind_paths [1-9]/m.test(during), during);
    assert(during.includes('bpfink_accessory_failing{part="database"} 1'), during);

    // Space returns: the baseline catches up on its own.
    await Deno.remove(`${state}/filler`);
    let after = "";
    assert(
      await (async () => {
        for (let t = 0; t < 100; t++) {
          after = await scrape();
          if (after.includes('bpfink_accessory_failing{part="database"} 0')) return true;
          await new Promise((r) => setTimeout(r, 200));
        }
        return false;
      })(),
      `the baseline did not catch up:\n${after}\n${daemon.stderr}`,
    );
    assert(/^bpfink_baseline_behind_paths 0$/m.test(after), after);
    assertIncludes(daemon.stderr, "baseline caught up");
    const ids = modifiedOf(daemon.events, watched).map((e) => e.event.id);
    assertEquals(new Set(ids).size, 20, "each change delivered exactly once");
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    assertNoStackTrace(daemon.stderr);

    // Nothing was lost from the baseline: the next start has nothing to report as offline.
    daemon = new Daemon(config);
    await daemon.started();
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(daemon.changes().map((e) => e.event.action), []);
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    daemon = undefined;
  } finally {
    if (daemon) await daemon.stop();
    const umount = await run(["umount", state]);
    assertEquals(umount.code, 0, umount.stderr);
  }
});

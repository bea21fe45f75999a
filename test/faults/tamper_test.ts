/**
 * Tamper evidence: root takes bpfink's own kernel state away while it runs.
 * bpftool cannot detach this kernel's raw tracepoint links (the test says
 * so if it tries and fails), so the tamper here is a watched file's inode
 * deleted from the agent's own watch map with bpftool: the periodic
 * self-test reports `self_test_failed`, puts it back, and the next write to
 * the file is seen live. Heartbeats and their metric come at their interval.
 */
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { run, tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import { encodeInodeKey } from "../../src/watch/inode_key.ts";
import { kernelIdentity } from "../../src/kernel/kernel_identity.ts";
import { assertNoStackTrace } from "./fault_helpers.ts";

/** `key: id` lines of `pid`'s BPF fds of one kind (`map_id` or `link_id`), from /proc/PID/fdinfo. */
async function idsOf(pid: number, key: "map_id" | "link_id"): Promise<number[]> {
  const ids: number[] = [];
  for await (const fd of Deno.readDir(`/proc/${pid}/fdinfo`)) {
    try {
      const info = await Deno.readTextFile(`/proc/${pid}/fdinfo/${fd.name}`);
      const id = new RegExp(`^${key}:\\s+(\\d+)$`, "m").exec(info)?.[1];
      if (id) ids.push(Number(id));
    } catch { /* closed meanwhile */ }
  }
  return [...new Set(ids)];
}

/** The id of `pid`'s BPF map called `name`, if it holds one. */
async function mapNamed(pid: number, name: string): Promise<number | undefined> {
  for (const id of await idsOf(pid, "map_id")) {
    const r = await run(["bpftool", "-j", "map", "show", "id", String(id)]);
    if (r.code === 0 && JSON.parse(r.stdout).name === name) return id;
  }
  return undefined;
}

/** Whether `daemon` reports `path` modified, live, within 5 s. */
function seenLive(daemon: Daemon, path: string): Promise<boolean> {
  return waitFor(
    () =>
      daemon.changes().some((e) =>
        e.event.action === "modified" && e.file?.path === path && e.event.reason === "live"
      ),
    5000,
  );
}

Deno.test("faults: a watched inode deleted from the agent's own map with bpftool → self_test_failed, repaired, seen again", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/app.conf`;
  await Deno.writeTextFile(watched, "a=1\n");
  const port = freePort();
  const config = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${watched}\ndatabase: ${dir.path}/state/bpfink.db\nkey_file: ${dir.path}/state/k\n` +
      `log_level: info\nstrategy: tracepoint\nself_test_interval: 1s\nheartbeat_interval: 1s\n` +
      `outputs:\n  - type: stdout\n    format: json\n` +
      `metrics:\n  prometheus:\n    listen: 127.0.0.1:${port}\n`,
  );
  const daemon = new Daemon(config);
  try {
    await daemon.started();
    const pid = daemon.child.pid;
    assert(
      await waitFor(() => daemon.events.some((e) => e.event.action === "heartbeat"), 5000),
      daemon.stderr,
    );
    const scrape = async () => await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await new Promise((r) => setTimeout(r, 1500));
    const before = await scrape();
    assert(/^bpfink_heartbeat_timestamp_seconds 1\d{9}/m.test(before), before);
    assert(/^bpfink_self_test_last_success_timestamp_seconds 1\d{9}/m.test(before), before);
    assert(/^bpfink_self_test_failures_total 0$/m.test(before), before);

    // Detaching the agent's own link: not supported for raw tracepoint links on this kernel.
    const links = await idsOf(pid, "link_id");
    assert(links.length > 0, "the agent holds no link");
    const detach = await run(["bpftool", "link", "detach", "id", String(links[0])]);
    if (detach.code !== 0) assertIncludes(detach.stderr, "not supported");

    // Delete the watched file's inode from the agent's own watch map.
    const watchMap = await mapNamed(pid, "watched");
    assert(watchMap !== undefined, "the agent's watch map was not found");
    const key = encodeInodeKey(kernelIdentity.inodeOf(watched, await Deno.stat(watched)));
    const hex = [...key].map((b) => b.toString(16).padStart(2, "0"));
    const del = await run([
      "bpftool",
      "map",
      "delete",
      "id",
      String(watchMap),
      "key",
      "hex",
      ...hex,
    ]);
    assertEquals(del.code, 0, del.stderr);

    assert(
      await waitFor(() => daemon.events.some((e) => e.event.action === "self_test_failed"), 5000),
      daemon.stderr,
    );
    const failed = daemon.events.find((e) => e.event.action === "self_test_failed")!;
    assertIncludes(String(failed.message), "missing from the kernel's watch map");
    assertIncludes(String(failed.message), watched);
    assertIncludes(String(failed.message), "the live path works again");
    // Repaired: a write is seen live again.
    await Deno.writeTextFile(watched, "a=2\n");
    assert(await seenLive(daemon, watched), daemon.stderr);
    const after = await scrape();
    assert(/^bpfink_self_test_failures_total [1-9]/m.test(after), after);
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
  }
  assertNoStackTrace(daemon.stderr);
});

Deno.test("faults: the mark gate opened behind the agent's back with bpftool → self_test_failed, shut again", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/app.conf`;
  await Deno.writeTextFile(watched, "a=1\n");
  const config = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${watched}\ndatabase: ${dir.path}/state/bpfink.db\nkey_file: ${dir.path}/state/k\n` +
      `log_level: info\nstrategy: tracepoint\nself_test_interval: 1s\n` +
      `outputs:\n  - type: stdout\n    format: json\n`,
  );
  // Without fanotify no watched inode carries a mark: an open gate would blind every one.
  const daemon = new Daemon(config, { BPFINK_FANOTIFY: "0" });
  try {
    await daemon.started();
    const gateMap = await mapNamed(daemon.child.pid, "mark_gate");
    assert(gateMap !== undefined, "the agent's mark_gate map was not found");
    // The gate's one key (0) and its values, as the bytes bpftool takes.
    const at = ["id", String(gateMap), "key", "0", "0", "0", "0"];
    const value = async () => {
      const r = await run(["bpftool", "-j", "map", "lookup", ...at]);
      assertEquals(r.code, 0, r.stderr);
      return Number(JSON.parse(r.stdout).value[0]);
    };
    assertEquals(await value(), 0, "the gate is open without fanotify");
    const open = await run(["bpftool", "map", "update", ...at, "value", "1", "0", "0", "0"]);
    assertEquals(open.code, 0, open.stderr);
    assert(
      await waitFor(() => daemon.events.some((e) => e.event.action === "self_test_failed"), 5000),
      daemon.stderr,
    );
    const failed = daemon.events.find((e) => e.event.action === "self_test_failed")!;
    assertIncludes(String(failed.message), "mark gate was opened by someone else");
    assertEquals(await value(), 0, "the gate was not shut again");
    await Deno.writeTextFile(watched, "a=2\n");
    assert(await seenLive(daemon, watched), daemon.stderr);
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
  }
  assertNoStackTrace(daemon.stderr);
});

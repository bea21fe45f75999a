/**
 * Database faults a person meets at the command line, each one sentence
 * and the documented exit code: check while the daemon runs (2: it cannot
 * compare), a read-only database directory (check still compares, without
 * writing; run says the directory is read-only), a corrupt database for
 * status and events, and a full disk at start.
 */
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { run, tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { assertNoStackTrace, corruptFirstPage } from "./fault_helpers.ts";

async function setUp(d: string) {
  await Deno.mkdir(`${d}/etc`);
  await Deno.writeTextFile(`${d}/etc/app.conf`, "a=1\n");
  await Deno.mkdir(`${d}/db`, { mode: 0o700 });
  const config = `${d}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${d}/etc/app.conf\ndatabase: ${d}/db/bpfink.db\nkey_file: ${d}/hmac.key\n` +
      `log_level: info\nstrategy: tracepoint\noutputs:\n  - type: stdout\n    format: json\n`,
  );
  return config;
}

/** One line on stderr, `bpfink: …`, no internal error, no stack. */
function oneSentence(stderr: string): void {
  assertNoStackTrace(stderr);
  assert(!stderr.includes("internal error"), stderr);
  assert(/^bpfink: /.test(stderr.trim()), stderr);
}

Deno.test("faults: check while the daemon runs exits 2 (cannot compare), in one sentence", async () => {
  await using dir = await tempDir();
  const config = await setUp(dir.path);
  const daemon = new Daemon(config);
  try {
    await daemon.started();
    const check = await run(["./bpfink", "check", "--config", config]);
    assertEquals(check.code, 2, check.stdout + check.stderr);
    assertIncludes(check.stderr, "another bpfink");
    oneSentence(check.stderr);
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
  }
});

Deno.test("faults: a read-only database directory: check compares without writing, run says so in one sentence", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const config = await setUp(d);
  const daemon = new Daemon(config);
  await daemon.started();
  assertEquals(await daemon.stop(), 0, daemon.stderr);
  const db = `${d}/db`;
  assertEquals((await run(["mount", "--bind", db, db])).code, 0);
  try {
    const ro = await run(["mount", "-o", "remount,ro,bind", db]);
    assertEquals(ro.code, 0, ro.stderr);
    const check = await run(["./bpfink", "check", "--config", config]);
    assertEquals(
      [check.code, check.stdout.trim()],
      [0, "no differences from the baseline"],
      check.stderr,
    );
    const r = await run(["./bpfink", "run", "--config", config]);
    assertEquals(r.code, 1, r.stderr);
    assertIncludes(r.stderr, `the database directory ${db} is read-only`);
    oneSentence(r.stderr.split("\n").filter((l) => !l.startsWith("{")).join("\n"));
    for (const cmd of ["status", "events"]) {
      const s = await run(["./bpfink", cmd, "--config", config]);
      assertNoStackTrace(s.stderr);
      assert(!s.stderr.includes("internal error"), `${cmd}: ${s.stderr}`);
    }
  } finally {
    const u = await run(["umount", db]);
    assertEquals(u.code, 0, u.stderr);
  }
});

Deno.test("faults: status and events on a corrupt database say so in one sentence", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const config = await setUp(d);
  const daemon = new Daemon(config);
  await daemon.started();
  assertEquals(await daemon.stop(), 0, daemon.stderr);
  await corruptFirstPage(`${d}/db/bpfink.db`);
  for (const cmd of ["status", "events"]) {
    const s = await run(["./bpfink", cmd, "--config", config]);
    assertEquals(s.code, 1, s.stderr);
    assertIncludes(s.stderr, "is corrupt");
    oneSentence(s.stderr);
  }
  const check = await run(["./bpfink", "check", "--config", config]);
  assertEquals(check.code, 2, check.stderr);
  assertIncludes(check.stderr, "is corrupt");
  oneSentence(check.stderr);
});

Deno.test("faults: a full disk at start: the agent starts and monitors from memory, reports what changed while down, and writes the baseline once there is space", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const config = await setUp(d);
  const db = `${d}/db`;
  const watched = `${d}/etc/app.conf`;
  const mount = await run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", db]);
  assertEquals(mount.code, 0, mount.stderr);
  let daemon: Daemon | undefined;
  try {
    daemon = new Daemon(config);
    await daemon.started();
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    const fill = await run(["dd", "if=/dev/zero", `of=${db}/filler`, "bs=64k"]);
    assertIncludes(fill.stderr, "No space left on device");
    await Deno.writeTextFile(watched, "a=2\n"); // while down

    daemon = new Daemon(config);
    await daemon.started();
    const dm = daemon;
    const modified = () => dm.changes().filter((e) => e.event.action === "modified");
    assert(await waitFor(() => modified().length === 1, 5000), dm.stderr);
    assertEquals(modified()[0].event.reason, "offline");
    assertIncludes(dm.stderr, "the disk is full");
    await Deno.writeTextFile(watched, "a=3\n"); // live
    assert(await waitFor(() => modified().length === 2, 5000), dm.stderr);
    await Deno.remove(`${db}/filler`);
    assert(
      await waitFor(() => dm.stderr.includes("the database can be written again"), 10_000),
      dm.stderr,
    );
    assertEquals(await dm.stop(), 0, dm.stderr);
    assertNoStackTrace(dm.stderr);
    // The baseline was written: nothing to report at the next start.
    daemon = new Daemon(config);
    await daemon.started();
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(daemon.changes().map((e) => e.event.action), []);
    assertEquals(await daemon.stop(), 0, daemon.stderr);
    daemon = undefined;
  } finally {
    await daemon?.stop().catch(() => {}); // already exited: nothing to stop
    const u = await run(["umount", db]);
    assertEquals(u.code, 0, u.stderr);
  }
});

/**
 * What an unprivileged user does in a watched directory they can write cannot
 * delay, hide or misattribute root's changes: real files, the real agent, the
 * user's side run as `nobody` (setpriv). Needs root.
 *
 * - Sparse files of a terabyte (no disk, no CPU to make) are not hashed, and
 *   reads of the user's files have their own lane: root's passwd is read at
 *   once, and stopping does not wait for the user's reads.
 * - A file root makes while it grows (every read is torn), then removes, is
 *   still reported made and removed, with what was seen and why it was not
 *   read whole.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, START_TIMEOUT_MS, tempDir, waitFor } from "./helpers.ts";

/** Runs `sh -c script` as nobody; throws when it fails. */
async function asNobody(script: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("setpriv", {
    args: [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "sh",
      "-c",
      script,
      "sh",
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`as nobody: ${new TextDecoder().decode(out.stderr)}`);
}

/** A root-owned etc (a copy of passwd, a sudoers.d) and a world-writable sticky shared, as the audit's. */
async function auditTree(root: string): Promise<{ etc: string; shared: string }> {
  await Deno.chmod(root, 0o755);
  const etc = `${root}/etc`;
  const shared = `${root}/shared`;
  await Deno.mkdir(`${etc}/sudoers.d`, { recursive: true });
  await Deno.copyFile("/etc/passwd", `${etc}/passwd`);
  await Deno.copyFile("/etc/group", `${etc}/group`);
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o1777);
  return { etc, shared };
}

async function startAgent(paths: string[], out: CaptureOutput): Promise<Agent> {
  const start = Agent.start({ watches: watchesForPaths(paths, true), outputs: [out] });
  const t = setTimeout(() => {}, START_TIMEOUT_MS);
  try {
    return await start;
  } finally {
    clearTimeout(t);
  }
}

/** Whether `out` has an event for `path` whose message holds `text`. */
function saidOf(out: CaptureOutput, path: string, text: string): boolean {
  return out.changes(path).some((e) => e.message?.includes(text));
}

Deno.test("a user's sparse files of a terabyte neither delay root's passwd change nor the agent's stop", async () => {
  await using dir = await tempDir();
  const { etc, shared } = await auditTree(dir.path);
  const passwd = `${etc}/passwd`;
  const out = new CaptureOutput();
  const agent = await startAgent([etc, shared], out);
  let stopped = false;
  try {
    // 20 files, each one byte then ftruncate'd to 10^12: no disk, made in a moment.
    await asNobody(
      'for i in $(seq 20); do printf x > "$1/sparse$i" && truncate -s 1000000000000 "$1/sparse$i"; done',
      shared,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = performance.now();
    await Deno.writeTextFile(passwd, "late:x:0:0::/root:/bin/sh\n", { append: true });
    // Before the fix: 118 s (every read slot hashing holes, 60 s per file).
    const reported = await waitFor(() => saidOf(out, passwd, "user late added"), 20_000);
    const ms = performance.now() - t0;
    console.log(`root's passwd change reported after ${ms.toFixed(0)} ms`);
    assert(reported, "root's uid-0 user was not reported within 20 s of the sparse files");
    // Each sparse file is reported, saying it was not hashed and why.
    const sparse = () => out.changes().filter((e) => e.file?.path.includes("/sparse"));
    assert(
      await waitFor(() => new Set(sparse().map((e) => e.file?.path)).size === 20, 10_000),
      `${new Set(sparse().map((e) => e.file?.path)).size} of the 20 sparse files reported`,
    );
    // The last report of each says it was not hashed, and why.
    const last = new Map(sparse().map((e) => [e.file?.path, e]));
    for (const e of last.values()) {
      assert(String(e.bpfink?.not_read_whole ?? "").includes("-byte limit"), JSON.stringify(e));
      assertEquals(e.file?.size, 1e12);
    }
    const t1 = performance.now();
    stopped = true;
    await agent.stop();
    const stopMs = performance.now() - t1;
    console.log(`stopped in ${stopMs.toFixed(0)} ms`);
    // Before the fix: ~54 s, waiting for the reads of the holes.
    assert(stopMs < 10_000, `stopping took ${stopMs.toFixed(0)} ms`);
  } finally {
    if (!stopped) await agent.stop();
  }
});

Deno.test("a rescan of every watch (3,000 of root's files) does not hold up root's change to passwd: an event's re-read goes first", async () => {
  await using dir = await tempDir();
  const { etc } = await auditTree(dir.path);
  const tree = `${dir.path}/tree`;
  await Deno.mkdir(tree);
  for (let i = 0; i < 3000; i++) await Deno.writeTextFile(`${tree}/f${i}`, `${i}\n`);
  const passwd = `${etc}/passwd`;
  const out = new CaptureOutput();
  // The tree first: a rescan comes to passwd last.
  const agent = await startAgent([tree, etc], out);
  try {
    const t0 = performance.now();
    const reconcile = agent.reconcile();
    await Deno.writeTextFile(passwd, "late:x:0:0::/root:/bin/sh\n", { append: true });
    assert(
      await waitFor(() => saidOf(out, passwd, "user late added"), 20_000),
      "root's uid-0 user was not reported within 20 s",
    );
    // The tree's files the rescan had read by then: before, passwd's re-read waited behind all
    // 3,000 in root's lane.
    const read = agent.watch.entries().filter((e) =>
      e.path.startsWith(`${tree}/`) && (e.lookedAt ?? 0) >= t0
    ).length;
    assert(read < 1500, `reported once the rescan had read ${read} of the 3,000 files`);
    await reconcile;
  } finally {
    await agent.stop();
  }
});

Deno.test("a file root makes while it grows, then removes, is reported made and removed, as not read whole", async () => {
  await using dir = await tempDir();
  const { etc } = await auditTree(dir.path);
  const dropIn = `${etc}/sudoers.d/g`;
  const out = new CaptureOutput();
  const agent = await startAgent([etc], out);
  try {
    const sh = await new Deno.Command("sh", {
      args: [
        "-c",
        `(printf 'ALL ALL=(ALL) NOPASSWD: ALL\\n'; timeout 4 cat /dev/zero) > "$1"; rm "$1"`,
        "sh",
        dropIn,
      ],
    }).output();
    assert(sh.success, "the shell failed");
    const actions = () => out.changes(dropIn).filter((e) => e.event.dataset === "bpfink.file");
    assert(
      await waitFor(() => actions().some((e) => e.event.action === "deleted"), 15_000),
      `no deletion of ${dropIn}: ${JSON.stringify(actions().map((e) => e.event.action))}`,
    );
    const got = actions().map((e) => e.event.action);
    assertEquals(got.filter((a) => a === "created").length, 1, JSON.stringify(got));
    assertEquals(got.at(-1), "deleted", JSON.stringify(got));
    const created = actions().find((e) => e.event.action === "created")!;
    assertEquals(created.file?.uid, "0");
    // A report made while it grew says it could not be read whole: the creation's, or, when the
    // first read fell in the moment between printf's line and cat's first write (a CI run: the
    // sudo rule read whole, 28 bytes), a modification's after it.
    const torn = actions().find((e) => e.bpfink?.not_read_whole);
    assert(torn, `no report says it was not read whole: ${JSON.stringify(got)}`);
    assert(torn.message?.includes("could not be read whole"), torn.message);
    // Both name the shell that made and removed it (sh, or the rm it ran).
    for (const e of actions()) assert(e.process?.pid, JSON.stringify(e));
  } finally {
    await agent.stop();
  }
});

Deno.test("a sparse drop-in of a terabyte is reported at once, its meaning said to be unchecked", async () => {
  await using dir = await tempDir();
  const { etc } = await auditTree(dir.path);
  const dropIn = `${etc}/sudoers.d/big`;
  const out = new CaptureOutput();
  const agent = await startAgent([etc], out);
  try {
    const t0 = performance.now();
    const sh = await new Deno.Command("sh", {
      args: [
        "-c",
        `printf 'ALL ALL=(ALL) NOPASSWD: ALL\\n' > "$1" && truncate -s 1000000000000 "$1"`,
        "sh",
        dropIn,
      ],
    }).output();
    assert(sh.success, "the shell failed");
    // Before: reported after 2 min (its holes hashed until the 60 s limit, twice).
    const reported = await waitFor(
      () => out.changes(dropIn).some((e) => e.event.action === "sudoers_unreadable"),
      20_000,
    );
    const ms = performance.now() - t0;
    console.log(`the drop-in's meaning reported unchecked after ${ms.toFixed(0)} ms`);
    assert(reported, JSON.stringify(out.changes(dropIn).map((e) => e.event.action)));
    const raw = out.changes(dropIn).filter((e) => e.event.dataset === "bpfink.file").at(-1)!;
    assertEquals(raw.file?.size, 1e12);
    assert(String(raw.bpfink?.not_read_whole).includes("-byte limit"), JSON.stringify(raw));
    // New content at the same size, past the hash limit: modified (its mtime moved), not
    // "attributes changed" (the hashes, both missing, are not the same content).
    const before = out.changes(dropIn).length;
    const dd = await new Deno.Command("dd", {
      args: [`of=${dropIn}`, "bs=1", "seek=500000000000", "conv=notrunc", "status=none"],
      stdin: "piped",
    }).spawn();
    const w = dd.stdin.getWriter();
    await w.write(new TextEncoder().encode("ALL ALL=(ALL) NOPASSWD: ALL\n"));
    await w.close();
    assert((await dd.status).success, "dd failed");
    assert(
      await waitFor(() => out.changes(dropIn).length > before, 20_000),
      "the write was not reported",
    );
    const after = out.changes(dropIn).slice(before).filter((e) =>
      e.event.dataset === "bpfink.file"
    );
    assertEquals(after.map((e) => e.event.action), ["modified"]);
  } finally {
    await agent.stop();
  }
});

Deno.test("a user's sparse files of a terabyte already there do not hold up the agent's start", async () => {
  await using dir = await tempDir();
  const { etc, shared } = await auditTree(dir.path);
  await asNobody(
    'for i in $(seq 40); do printf x > "$1/sparse$i" && truncate -s 1000000000000 "$1/sparse$i"; done',
    shared,
  );
  const out = new CaptureOutput();
  const t0 = performance.now();
  const agent = await startAgent([etc, shared], out);
  const ms = performance.now() - t0;
  try {
    console.log(`started in ${ms.toFixed(0)} ms beside 40 sparse files`);
    // Before: each file's holes hashed for the 60 s limit, several rounds of them.
    assert(ms < 90_000, `the start took ${ms.toFixed(0)} ms`);
    const passwd = `${etc}/passwd`;
    await Deno.writeTextFile(passwd, "late:x:0:0::/root:/bin/sh\n", { append: true });
    assert(
      await waitFor(() => saidOf(out, passwd, "user late added"), 20_000),
      "root's uid-0 user was not reported",
    );
    // The first baseline and the live reads agree: no sparse file is reported unchanged.
    assertEquals(out.changes().filter((e) => e.file?.path.includes("/sparse")).length, 0);
  } finally {
    await agent.stop();
  }
});

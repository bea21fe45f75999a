/**
 * A watched directory removed must take its kernel keys with it: the kernel
 * matches name events by the directory's inode number, and ext4 and tmpfs
 * give a freed number to the next inode made. A key left behind credits an
 * unrelated directory's entries to the old watched path. Real programs
 * (mkdir, rmdir, mv, touch), the real agent. Needs root.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { encodeInodeKey } from "../src/watch/inode_key.ts";
import { FIM_PENDING_LAYOUT } from "../src/kernel/fim_event.ts";

/**
 * The BPF maps named `names` that `agent`'s own programs use (bpftool's map ids of its program
 * ids), by name: not another agent's that a test running beside this one (in the same process)
 * started.
 */
async function ownMaps(agent: Agent, names: string[]): Promise<Map<string, number[]>> {
  const ids = new Set<number>();
  for (const p of agent.kernel.programStats()) {
    const r = await run(["bpftool", "-j", "prog", "show", "id", String(p.id)]);
    if (r.code !== 0) continue; // detached meanwhile
    for (const id of (JSON.parse(r.stdout) as { map_ids?: number[] }).map_ids ?? []) ids.add(id);
  }
  const r = await run(["bpftool", "-j", "map", "show"]);
  assertEquals(r.code, 0, r.stderr);
  const out = new Map<string, number[]>();
  for (const m of JSON.parse(r.stdout) as { id: number; name: string }[]) {
    if (!ids.has(m.id) || !names.includes(m.name)) continue;
    out.set(m.name, [...(out.get(m.name) ?? []), m.id]);
  }
  return out;
}

/** Entries in each of the kernel's key maps `agent` holds (bpftool map dump). */
async function keyCounts(agent: Agent): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const maps = await ownMaps(agent, ["watched", "watched_entries", "dir_paths", "pending"]);
  for (const [name, ids] of maps) {
    counts[name] = 0;
    for (const id of ids) {
      const r = await run(["bpftool", "-j", "map", "dump", "id", String(id)]);
      assertEquals(r.code, 0, r.stderr);
      counts[name] += (JSON.parse(r.stdout || "[]") as unknown[]).length;
    }
  }
  return counts;
}

const summary = (out: CaptureOutput) =>
  JSON.stringify(out.changes().map((e) => [e.event.action, e.file?.path]));

/**
 * Runs `first` (a shell command on "$3", the watched directory, and "$4", a path outside the
 * tree), then makes directories in "$1" (outside the watched tree, same filesystem) until one
 * gets inode number "$2" (a bounded hunt), and makes files a, b, c and directory inner in it:
 * all in one shell, so the agent may not have seen the removal yet. Returns that directory,
 * or undefined when the number was not given out within the bound.
 */
async function reuseAsDir(
  first: string,
  args: { other: string; ino: bigint | number; sub: string; away: string },
): Promise<string | undefined> {
  const script = `${first} || exit 3; i=0; while [ $i -lt 3000 ]; do mkdir "$1/d$i" || exit 2; ` +
    'if [ "$(stat -c %i "$1/d$i")" = "$2" ]; then ' +
    'touch "$1/d$i/a" "$1/d$i/b" "$1/d$i/c" && mkdir "$1/d$i/inner" && echo "$1/d$i"; exit; fi; ' +
    "i=$((i+1)); done; exit 1";
  const r = await run([
    "sh",
    "-c",
    script,
    "sh",
    args.other,
    String(args.ino),
    args.sub,
    args.away,
  ]);
  assert(r.code <= 1, r.stderr);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Makes files in `dir` until one gets inode number `ino` (as dirAtInode); returns its path. */
async function fileAtInode(dir: string, ino: bigint | number): Promise<string | undefined> {
  const script = 'i=0; while [ $i -lt 3000 ]; do : > "$1/f$i" || exit 2; ' +
    'if [ "$(stat -c %i "$1/f$i")" = "$2" ]; then echo "$1/f$i"; exit 0; fi; ' +
    "i=$((i+1)); done; exit 1";
  const r = await run(["sh", "-c", script, "sh", dir, String(ino)]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** How `sub` leaves the watched tree. */
type Removal = "rmdir" | "rmdir before listed" | "renamed out" | "rm -r";

const REMOVAL: Record<Removal, string> = {
  "rmdir": 'rmdir "$3"',
  "rmdir before listed": 'rmdir "$3"',
  "renamed out": 'mv "$3" "$4" && rmdir "$4"',
  "rm -r": 'rm -r "$3"',
};

// "at once": removed, its number given out and used, in one shell, before the agent lists
// anything; fanotify off: the syscall hooks alone, which name a directory by inode number.
for (
  const [how, race, fanotify] of [
    ["rmdir", false, true],
    ["rmdir", true, false],
    ["rmdir", true, true],
    ["rmdir before listed", true, false],
    ["renamed out", false, true],
    ["renamed out", true, false],
    ["rm -r", false, true],
    ["rm -r", true, false],
  ] as [Removal, boolean, boolean][]
) {
  const when = `${race ? ", reused at once" : ""}${fanotify ? "" : ", fanotify off"}`;
  Deno.test(`stale keys: a watched directory gone (${how}${when}) leaves no key: a directory made later at its inode number is not reported under its old path`, async () => {
    await using d = await tempDir();
    const tree = `${d.path}/tree`;
    const other = `${d.path}/other`;
    await Deno.mkdir(tree);
    await Deno.mkdir(other);
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths([tree], true),
      outputs: [out],
      fanotify,
    });
    try {
      const sub = `${tree}/sub`;
      const made = await run(["mkdir", sub]);
      assertEquals(made.code, 0, made.stderr);
      if (how === "rm -r") await run(["touch", `${sub}/f`]);
      const ino = (await Deno.lstat(sub)).ino!;
      if (how !== "rmdir before listed") {
        assert(
          await waitFor(() => agent.watch.get(sub)?.exists === true, 5000),
          `never listed: ${summary(out)}`,
        );
        if (how === "rm -r") {
          assert(await waitFor(() => agent.watch.get(`${sub}/f`)?.exists === true));
        }
      }
      const before = out.changes().length;
      const args = { other, ino, sub, away: `${other}/away` };
      if (!race) {
        const r = await run(["sh", "-c", REMOVAL[how], "sh", other, String(ino), sub, args.away]);
        assertEquals(r.code, 0, r.stderr);
        assert(
          await waitFor(() => agent.watch.get(sub) === undefined, 5000),
          `the removed directory is still watched: ${summary(out)}`,
        );
        await agent.idle();
      }
      const reused = await reuseAsDir(race ? REMOVAL[how] : "true", args);
      if (!reused) {
        console.log(`inode ${ino} not reused within the bound: nothing to check`);
        return;
      }
      await new Promise((r) => setTimeout(r, 300));
      await agent.idle();
      const theirs = ["a", "b", "c", "inner"].map((n) => `${sub}/${n}`);
      const wrong = out.changes().slice(before).filter((e) =>
        theirs.includes(e.file?.path ?? "") || e.file?.path?.startsWith(`${other}/`)
      );
      assertEquals(wrong.length, 0, summary(out));
      assert(!agent.watch.keys.has(sub), `the key of ${sub} is kept`);
    } finally {
      await agent.stop();
    }
  });
}

Deno.test("stale keys: directories made and removed under a tree watch leave the kernel's key maps as they were", async () => {
  await using d = await tempDir();
  const tree = `${d.path}/tree`;
  const away = `${d.path}/away`;
  await Deno.mkdir(`${tree}/kept`, { recursive: true });
  await Deno.mkdir(away);
  await Deno.writeTextFile(`${tree}/kept/file`, "x\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([tree], true), outputs: [out] });
  try {
    await agent.idle();
    const before = await keyCounts(agent);
    assert(
      Object.keys(before).length >= 3,
      `the agent's maps not found: ${JSON.stringify(before)}`,
    );
    const size = agent.watch.size;
    for (let i = 0; i < 12; i++) {
      const sub = `${tree}/churn${i}`;
      // Listed or not yet, removed, removed whole or renamed out of the tree.
      const script = i % 3 === 0
        ? `mkdir -p "$1/a/b" && touch "$1/a/f" "$1/a/b/g" && rm -r "$1"`
        : i % 3 === 1
        ? `mkdir "$1" && touch "$1/f" && sleep 0.2 && mv "$1" "$2/m${i}" && rm -r "$2/m${i}"`
        : `mkdir -p "$1/a" && sleep 0.2 && rmdir "$1/a" "$1"`;
      const r = await run(["sh", "-c", script, "sh", sub, away]);
      assertEquals(r.code, 0, r.stderr);
    }
    assert(
      await waitFor(() => agent.watch.size === size, 5000),
      `watched paths: ${agent.watch.size}, not ${size}: ${
        agent.watch.entries().map((e) => e.path)
      }`,
    );
    await agent.idle();
    // An entry left for a re-arm that waits on a timer (an unplaced path's 200 ms, a stale
    // inode's grace) goes with it: what stays past those is a key kept for good.
    let after = await keyCounts(agent);
    for (let t = 0; t < 20 && JSON.stringify(after) !== JSON.stringify(before); t++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await keyCounts(agent);
    }
    assertEquals(after, before);
  } finally {
    await agent.stop();
  }
});

Deno.test("stale keys: a watched file removed, its inode number given to a file elsewhere: that file's writes are not reported under the old path", async () => {
  await using d = await tempDir();
  const dir = `${d.path}/etc`;
  const other = `${d.path}/other`;
  await Deno.mkdir(dir);
  await Deno.mkdir(other);
  const f = `${dir}/conf`;
  await Deno.writeTextFile(f, "a\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    for (const race of [true, false]) {
      const ino = (await Deno.lstat(f)).ino!;
      const from = out.changes().length;
      const rm = await run(["rm", f]);
      assertEquals(rm.code, 0, rm.stderr);
      if (!race) await waitFor(() => agent.watch.get(f)?.exists === false, 5000);
      const reused = await fileAtInode(other, ino);
      if (!reused) {
        console.log(`inode ${ino} not reused within the bound: nothing to check`);
        return;
      }
      const w = await run(["sh", "-c", 'echo changed >> "$1"; chmod 600 "$1"', "sh", reused]);
      assertEquals(w.code, 0, w.stderr);
      await new Promise((r) => setTimeout(r, 300));
      await agent.idle();
      const wrong = out.changes().slice(from).filter((e) =>
        (e.file?.path === f && e.event.action !== "deleted") || e.file?.path?.startsWith(other)
      );
      assertEquals(wrong.length, 0, summary(out));
      await Deno.remove(reused);
      await Deno.writeTextFile(f, "a\n");
      assert(await waitFor(() => agent.watch.get(f)?.exists === true, 5000));
      await agent.idle();
    }
  } finally {
    await agent.stop();
  }
});

Deno.test("stale keys: a watched directory removed while the agent was down, its inode number reused: the next start reports nothing under its old path", async () => {
  await using d = await tempDir();
  const tree = `${d.path}/tree`;
  const other = `${d.path}/other`;
  const sub = `${tree}/sub`;
  await Deno.mkdir(sub, { recursive: true });
  await Deno.mkdir(other);
  await Deno.writeTextFile(`${sub}/f`, "x\n");
  const database = `${d.path}/db`;
  const watches = watchesForPaths([tree], true);
  const first = await Agent.start({ watches, outputs: [new CaptureOutput()], database });
  await first.idle();
  await first.stop();
  const ino = (await Deno.lstat(sub)).ino!;
  const reused = await reuseAsDir('rm -r "$3"', { other, ino, sub, away: `${other}/away` });
  if (!reused) {
    console.log(`inode ${ino} not reused within the bound: nothing to check`);
    return;
  }
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches, outputs: [out], database });
  try {
    await agent.idle();
    const r = await run(["sh", "-c", 'touch "$1/f" "$1/g" && mkdir "$1/inner2"', "sh", reused]);
    assertEquals(r.code, 0, r.stderr);
    await new Promise((r) => setTimeout(r, 300));
    await agent.idle();
    const wrong = out.changes().filter((e) =>
      (e.file?.path?.startsWith(`${sub}/`) && e.event.action !== "deleted") ||
      e.file?.path?.startsWith(`${other}/`)
    );
    assertEquals(wrong.length, 0, summary(out));
    assert(!agent.watch.keys.has(sub), `the key of ${sub} is kept`);
  } finally {
    await agent.stop();
  }
});

Deno.test("stale keys: a watched directory renamed away and back is its path's again: what is made in it then is reported, naming the process", async () => {
  await using d = await tempDir();
  const tree = `${d.path}/tree`;
  const sub = `${tree}/sub`;
  await Deno.mkdir(tree);
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([tree], true),
    outputs: [out],
    fanotify: false,
  });
  try {
    await run(["mkdir", sub]);
    assert(await waitFor(() => agent.watch.get(sub)?.exists === true, 5000), summary(out));
    await agent.idle();
    const mv = await run([
      "sh",
      "-c",
      'mv "$1/sub" "$1/sub2" && mv "$1/sub2" "$1/sub"',
      "sh",
      tree,
    ]);
    assertEquals(mv.code, 0, mv.stderr);
    await agent.idle();
    const made = `${sub}/new`;
    const t = await run(["touch", made]);
    assertEquals(t.code, 0, t.stderr);
    assert(
      await waitFor(() => out.changes(made).some((e) => e.event.action === "created"), 5000),
      summary(out),
    );
    const created = out.changes(made).find((e) => e.event.action === "created")!;
    assertEquals([created.process?.pid, created.process?.name], [t.pid, "touch"]);
  } finally {
    await agent.stop();
  }
});

Deno.test("stale keys: a pending entry left for an inode no longer watched goes at the next reconcile", async () => {
  await using d = await tempDir();
  const f = `${d.path}/conf`;
  await Deno.writeTextFile(f, "a\n");
  const agent = await Agent.start({
    watches: watchesForPaths([f]),
    outputs: [new CaptureOutput()],
  });
  try {
    await agent.idle();
    const id = agent.watch.get(f)!.id!;
    const [pendingId] = (await ownMaps(agent, ["pending"])).get("pending") ?? [];
    assert(pendingId !== undefined, "the agent's pending map not found");
    // What a BPF program leaves when it notes an inode that user space takes out of the watch
    // map between its lookup and its note: an entry for an inode nothing watches.
    const key = encodeInodeKey({ dev: id.dev, ino: id.ino + 987_654_321n });
    const value = new Uint8Array(FIM_PENDING_LAYOUT.size);
    value[12] = 1; // w[0].ops: a write
    const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0"));
    const u = await run([
      "bpftool",
      "map",
      "update",
      "id",
      String(pendingId),
      "key",
      "hex",
      ...hex(key),
      "value",
      "hex",
      ...hex(value),
    ]);
    assertEquals(u.code, 0, u.stderr);
    const before = (await keyCounts(agent)).pending;
    assert(before >= 1, "the entry was not put in the map");
    await agent.reconcile();
    assertEquals((await keyCounts(agent)).pending, before - 1, "the stale entry was kept");
    // The watched file's own events still come.
    await Deno.writeTextFile(f, "b\n", { append: true });
    assert(await waitFor(() => agent.watch.get(f)?.state?.size === 4), "the write was not seen");
  } finally {
    await agent.stop();
  }
});

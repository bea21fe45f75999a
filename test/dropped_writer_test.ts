/**
 * Events dropped by a full ring buffer still name their process: the kernel
 * keeps each dropped inode event's writers in its pending entry, and each
 * dropped entry event's process in its directory's, and the rescan the drop
 * causes reports every changed file with them. Real BPF, a
 * real shell, a 4 KiB ring that this thread leaves unread while the shell
 * writes (a synchronous spawn). fanotify is off, so the BPF object alone
 * names processes. Each test also watches 200 files that nothing changes:
 * every drop was held, so each rescan re-reads only what the drops were
 * about, never those. Needs root.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, tempDir, waitFor } from "./helpers.ts";

/**
 * An agent on `paths` with a 4 KiB ring buffer (and no pump), checking drops every 50 ms, and
 * fanotify off: the BPF object alone names processes.
 */
const smallRingAgent = (paths: string[], out: CaptureOutput) =>
  Agent.start({
    watches: watchesForPaths(paths),
    outputs: [out],
    ringBytes: 4096,
    // The ring alone, read on this thread: no pump empties it while the thread is blocked.
    ringQueueBytes: 0,
    fanotify: false,
    dropCheckMs: 50,
  });

/** 200 files in `dir`/bystanders that nothing changes. */
async function bystanders(dir: string): Promise<string[]> {
  await Deno.mkdir(`${dir}/bystanders`);
  const files = Array.from({ length: 200 }, (_, i) => `${dir}/bystanders/b${i}`);
  for (const f of files) await Deno.writeTextFile(f, "b\n");
  return files;
}

/**
 * Every rescan was of only what was held (no full one), and re-read at most `most` watches:
 * the bystanders were never re-read.
 */
function onlyHeldRescanned(agent: Agent, most: number): void {
  assertEquals(agent.heldRescans, agent.rescans, "a drop was not held: every watch rescanned");
  assert(
    agent.rescannedWatches <= most * agent.rescans,
    `${agent.rescans} rescans re-read ${agent.rescannedWatches} watches: past ${most} each`,
  );
}

/** Runs sh `script` with `args` to its end, this thread reading nothing meanwhile; its pid. */
function shellSync(script: string, ...args: string[]): number {
  const sh = new Deno.Command("sh", { args: ["-c", `${script}; echo $$`, "sh", ...args] })
    .outputSync();
  assert(sh.success, new TextDecoder().decode(sh.stderr));
  return Number(new TextDecoder().decode(sh.stdout).trim());
}

Deno.test("a full ring buffer's dropped writes are reported by the rescan naming their writer", async () => {
  await using dir = await tempDir();
  const files: string[] = [];
  for (let i = 0; i < 60; i++) {
    files.push(`${dir.path}/f${i}.conf`);
    await Deno.writeTextFile(files[i], "a=1\n");
  }
  const out = new CaptureOutput();
  const agent = await smallRingAgent([...files, ...await bystanders(dir.path)], out);
  try {
    const pid = shellSync('for f in "$@"; do echo b=2 >> "$f"; done', ...files);
    assert(
      await waitFor(() => files.every((f) => out.changes(f).length > 0), 10_000),
      `${files.filter((f) => out.changes(f).length === 0).length} of 60 changes unreported`,
    );
    assert(agent.rescans > 0, "the 4 KiB ring held all 60 events: the test needs a drop");
    const unnamed = files.filter((f) => !out.changes(f).some((e) => e.process?.pid === pid));
    assertEquals(unnamed, [], "changes reported without the shell that made them");
    onlyHeldRescanned(agent, files.length);
  } finally {
    await agent.stop();
  }
});

Deno.test("a full ring buffer's dropped entry events are reported by the rescan naming their process", async () => {
  await using dir = await tempDir();
  const out = new CaptureOutput();
  await Deno.mkdir(`${dir.path}/made`);
  const agent = await smallRingAgent([`${dir.path}/made`, ...await bystanders(dir.path)], out);
  try {
    // 60 files made in the watched directory: entry events, most of them dropped.
    const made = `${dir.path}/made`;
    const pid = shellSync('for i in $(seq 60); do echo a=1 > "$1/n$i.conf"; done', made);
    const files = Array.from({ length: 60 }, (_, i) => `${made}/n${i + 1}.conf`);
    const created = (f: string) => out.changes(f).filter((e) => e.event.action === "created");
    assert(
      await waitFor(() => files.every((f) => created(f).length > 0), 10_000),
      `${files.filter((f) => created(f).length === 0).length} of 60 creations unreported`,
    );
    assert(agent.rescans > 0, "the 4 KiB ring held all 60 events: the test needs a drop");
    const unnamed = files.filter((f) => !created(f).some((e) => e.process?.pid === pid));
    assertEquals(unnamed, [], "creations reported without the shell that made them");
    // The directory and the names made in it.
    onlyHeldRescanned(agent, 1 + files.length);
  } finally {
    await agent.stop();
  }
});

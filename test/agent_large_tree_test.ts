/**
 * The first baseline of a tree large enough to be read in workers
 * (parallel_reader.ts): every file recorded with its real hash, a password
 * file's hash keyed, a change while bpfink was down reported once on the next
 * start, and a live write after it. Needs root.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { DatabaseSync } from "node:sqlite";
import { BaselineStore } from "../src/store/baseline_store.ts";
import { CaptureOutput, tempDir, waitFor } from "./helpers.ts";

const FILES = 2600;

Deno.test("a 2600-file tree: hashed in workers, secrets keyed, offline and live changes reported", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/tree`;
  const sums = new Map<string, string>();
  for (let d = 0; d < 26; d++) {
    await Deno.mkdir(`${tree}/d${d}`, { recursive: true });
    for (let f = 0; f < FILES / 26; f++) {
      const path = `${tree}/d${d}/${d === 3 && f === 0 ? "shadow" : `f${f}.conf`}`;
      const text = `file ${d}/${f}\n`.repeat(f % 7);
      await Deno.writeTextFile(path, text);
      sums.set(path, createHash("sha256").update(text).digest("hex"));
    }
  }
  const opts = () => ({
    watches: watchesForPaths([tree], true),
    database: `${dir.path}/db/bpfink.db`,
    keyFile: `${dir.path}/hmac.key`,
  });
  const first = new CaptureOutput();
  let agent = await Agent.start({ ...opts(), outputs: [first] });
  await agent.stop();
  assertEquals(first.changes().length, 0, "a first baseline reports nothing");

  const store = BaselineStore.open(`${dir.path}/db/bpfink.db`);
  const shadow = `${tree}/d3/shadow`;
  let keyed: string | undefined;
  try {
    for (const [path, sum] of sums) {
      if (path === shadow) keyed = store.get(path)?.sha256;
      else assertEquals(store.get(path)?.sha256, sum, path);
    }
  } finally {
    store.close();
  }
  assert(keyed?.startsWith("hmac-sha256:"), `shadow stored as ${keyed}`);

  // Changed while down: reported once, as offline, on the next start.
  const offline = `${tree}/d20/f5.conf`;
  await Deno.writeTextFile(offline, "changed while bpfink was down\n");
  const second = new CaptureOutput();
  agent = await Agent.start({ ...opts(), outputs: [second] });
  try {
    assertEquals(
      second.changes().map((e) => `${e.event.action} ${e.file?.path} ${e.event.reason}`),
      [`modified ${offline} offline`],
    );
    // Line diffs against the texts the first baseline kept: its window buffers are freed once
    // recorded (releaseBuffers()), so a text recorded as a view into them would diff as empty.
    const diff = second.changes(offline)[0].bpfink?.diff as { added: string[]; removed: string[] };
    assertEquals(diff?.added, ["changed while bpfink was down"]);
    assert(diff?.removed.includes("file 20/5"), JSON.stringify(diff));
    const live = `${tree}/d25/f99.conf`;
    await Deno.writeTextFile(live, "changed while watched\n");
    assert(
      await waitFor(() => second.changes(live).some((e) => e.event.action === "modified"), 10_000),
      "the live write is reported",
    );
    assertEquals(second.changes(live).find((e) => e.event.action === "modified")?.bpfink?.diff, {
      added: ["changed while watched"],
      removed: ["file 25/99"],
    });
  } finally {
    await agent.stop();
  }
});

Deno.test("a first baseline records its files a window at a time: few are ever read and not yet written", async () => {
  // Each file read and not yet written is held in memory (its state, its record, its content
  // for a line diff). Held for a thousand files, they outlived the young generation's
  // collections and filled the old one with the dead: at 100,000 files most of the peak heap.
  await using dir = await tempDir();
  const tree = `${dir.path}/tree`;
  for (let d = 0; d < 26; d++) {
    await Deno.mkdir(`${tree}/d${d}`, { recursive: true });
    for (let f = 0; f < FILES / 26; f++) {
      await Deno.writeTextFile(`${tree}/d${d}/f${f}.conf`, `file ${d}/${f}\n`);
    }
  }
  const database = `${dir.path}/db/bpfink.db`;
  let db: DatabaseSync | undefined;
  let most = 0;
  const agent = await Agent.start({
    watches: watchesForPaths([tree], true),
    database,
    keyFile: `${dir.path}/hmac.key`,
    outputs: [new CaptureOutput()],
    onProgress: (done) => {
      if (done % 50 !== 0) return;
      db ??= new DatabaseSync(database, { readOnly: true });
      const { n } = db.prepare("SELECT count(*) AS n FROM baseline").get() as { n: number };
      most = Math.max(most, done - n);
    },
  });
  db?.close();
  await agent.stop();
  // A window is 256 files; with one for the directories, never two windows behind.
  assert(most > 0 && most < 512, `at most ${most} files read and not yet in the database`);
});

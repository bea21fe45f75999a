/**
 * Interactive mode (no `database`) keeps its baseline, line-diff text
 * included, in a temporary SQLite file rather than in memory, and removes it
 * on stop. Needs root.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, tempDir } from "./helpers.ts";
import { dirname } from "node:path";
import { existsSync } from "node:fs";

Deno.test("without a database, the baseline lives in a temporary file that stop removes", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.conf`;
  const text = "listen 8080\n".repeat(2000);
  await Deno.writeTextFile(file, text);
  const agent = await Agent.start({
    watches: watchesForPaths([file]),
    outputs: [new CaptureOutput()],
  });
  const db = agent.database;
  try {
    assert(db.startsWith("/tmp/bpfink-db-") && db.endsWith("/baseline.db"), db);
    // The text kept for the line diff is in the file on disk, written there once
    // (no write-ahead log: nothing reopens this database after a crash).
    const size = Deno.statSync(db).size;
    assert(size > text.length, `the database holds ${size} bytes`);
    assert(!existsSync(`${db}-wal`), "a temporary database with a write-ahead log");
    assertEquals(Deno.statSync(dirname(db)).mode! & 0o777, 0o700);
  } finally {
    await agent.stop();
  }
  let gone = false;
  try {
    Deno.statSync(dirname(db));
  } catch (e) {
    gone = e instanceof Deno.errors.NotFound;
  }
  assert(gone, `${dirname(db)} is left behind`);
});

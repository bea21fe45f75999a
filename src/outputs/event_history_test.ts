import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { testEvent } from "../../test/services/events.ts";
import { DatabaseSync } from "node:sqlite";
import { EventHistory, openHistoryDb, queryHistory } from "./event_history.ts";

/** What the history holds: its rows' ids, oldest first, and their JSON's length in all. */
function held(path: string): { ids: string[]; chars: number; recorded: number } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT id, length(event) AS n, bytes FROM event_history ORDER BY seq")
      .all() as { id: string; n: number; bytes: number }[];
    return {
      ids: rows.map((r) => r.id),
      chars: rows.reduce((a, r) => a + r.n, 0),
      recorded: rows.reduce((a, r) => a + r.bytes, 0),
    };
  } finally {
    db.close();
  }
}

const big = (i: number) => testEvent(i, "modified", { tags: ["\u0001".repeat(700)] });

Deno.test("the event history keeps the newest events within maxBytes", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bpfink.db`;
  const maxBytes = 64 * 1024;
  const history = new EventHistory(path, { maxBytes });
  for (let i = 0; i < 200; i++) history.write(big(i));
  const now = held(path);
  assert(now.chars <= maxBytes, `${now.chars} characters kept of ${maxBytes}`);
  assert(now.chars > maxBytes / 2, `${now.chars} characters kept of ${maxBytes}`);
  assertEquals([history.bytes, now.recorded], [now.chars, now.chars]);
  // The newest, in order, to the last one written.
  const n = now.ids.length;
  assertEquals(now.ids, Array.from({ length: n }, (_, k) => `ev-${200 - n + k}`));
  await history.close();

  // `bpfink events` reads the newest it was asked for, oldest first.
  const db = openHistoryDb(path);
  try {
    assertEquals(queryHistory(db, { limit: 3 }).map((e) => e.event.id), [
      "ev-197",
      "ev-198",
      "ev-199",
    ]);
  } finally {
    db.close();
  }
});

Deno.test("the event history of an older bpfink gets its rows' sizes, and is bounded by them", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bpfink.db`;
  const old = new DatabaseSync(path);
  old.exec(
    "CREATE TABLE event_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, " +
      "ts TEXT NOT NULL, action TEXT NOT NULL, path TEXT, severity TEXT, event TEXT NOT NULL)",
  );
  const insert = old.prepare(
    "INSERT INTO event_history (id, ts, action, event) VALUES (?, '2026-01-01', 'modified', ?)",
  );
  for (let i = 0; i < 100; i++) insert.run(`ev-${i}`, JSON.stringify(big(i)));
  const before = (old.prepare("SELECT sum(length(event)) AS n FROM event_history").get() as {
    n: number;
  }).n;
  old.close();
  const maxBytes = before / 2;
  const history = new EventHistory(path, { maxBytes });
  history.write(big(100));
  const now = held(path);
  assert(now.chars <= maxBytes, `${now.chars} characters kept of ${maxBytes}`);
  assertEquals([history.bytes, now.recorded], [now.chars, now.chars]);
  assertEquals(now.ids.at(-1), "ev-100");
  await history.close();
});

import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { type BaselineRecord, BaselineStore } from "./baseline_store.ts";
import { openHistoryDb } from "../outputs/event_history.ts";
import { baselineRecord } from "../../test/records.ts";

const MARK = "M4rk";
const MODULAR = `$6$${MARK}salt$${MARK}hashhashhashhashhash`;
const DES = `${MARK}DESabcdef`;

function record(path: string, consumer: string, snapshot: unknown): BaselineRecord {
  return baselineRecord(path, { consumer, snapshot });
}

Deno.test("a database an older bpfink wrote with password hashes in it is scrubbed once, its old pages too", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/db/baseline.db`;
  await Deno.mkdir(`${dir.path}/db`, { mode: 0o700 });
  // Long enough to take overflow pages, which the shorter redacted text frees.
  const text = `alice:${MODULAR}:1:0:99999:7:::\nbob:${DES}:1:0:99999:7:::\n`.repeat(300);
  const event = {
    event: { id: "e1", action: "modified" },
    message: "shadow.edit modified",
    bpfink: { diff: { added: [`bob:${DES}:1:0:99999:7:::`], removed: [`alice:${MODULAR}:1`] } },
  } as unknown as ChangeEvent;
  // What an older bpfink left: snapshots, an undelivered event and the history, as they were.
  let store = BaselineStore.open(db);
  store.commit([
    [
      `${dir.path}/shadow.edit`,
      record(`${dir.path}/shadow.edit`, "generic", new TextEncoder().encode(text)),
    ],
    [
      `${dir.path}/sudoers.d/inc`,
      record(`${dir.path}/sudoers.d/inc`, "sudoers", {
        entries: [{ kind: "unparsed", canonical: `bob:${DES}:1:0:99999:7:::` }],
      }),
    ],
    [`${dir.path}/shadow`, record(`${dir.path}/shadow`, "users", { kind: "shadow", entries: [] })],
  ], [event]);
  store.close();
  const raw = new DatabaseSync(db);
  raw.exec("DELETE FROM meta WHERE key = 'password_hashes_scrubbed'");
  raw.close();
  const history = openHistoryDb(db);
  history.prepare(
    "INSERT INTO event_history (id, ts, action, path, severity, event) VALUES (?, ?, ?, ?, ?, ?)",
  ).run("e1", "2026-12-01T00:00:00Z", "modified", "/x", "medium", JSON.stringify(event));
  history.close();
  const bytesOf = async () =>
    (await Promise.all(
      ["", "-wal"].map((s) => Deno.readFile(db + s).catch(() => new Uint8Array())),
    )).map((b) => new TextDecoder("latin1").decode(b)).join();
  assert((await bytesOf()).includes(MARK), "the older database holds the hashes");

  store = BaselineStore.open(db);
  try {
    const generic = new TextDecoder().decode(
      store.get(`${dir.path}/shadow.edit`)?.snapshot as Uint8Array,
    );
    assertEquals(
      generic,
      "alice:[redacted]:1:0:99999:7:::\nbob:[redacted]:1:0:99999:7:::\n".repeat(300),
    );
    assertEquals(
      (store.get(`${dir.path}/sudoers.d/inc`)?.snapshot as { entries: { canonical: string }[] })
        .entries[0].canonical,
      "bob:[redacted]:1:0:99999:7:::",
    );
    const [left] = store.undelivered();
    assertEquals(
      (left.event.bpfink?.diff as { removed: string[] }).removed,
      ["alice:[redacted]:1"],
    );
  } finally {
    store.close();
  }
  assert(!(await bytesOf()).includes(MARK), "a hash is left in the database's files");
});

import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { testEvent } from "../../test/services/events.ts";
import { DatabaseSync } from "node:sqlite";
import { BaselineStore, NOT_IN_OUTBOX } from "./baseline_store.ts";
import { SHORT_EVENT_BYTES } from "./outbox_budget.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";

/** Event `i` with about `size` characters of line diff an attacker chose. */
const big = (i: number, size = 4000): ChangeEvent =>
  testEvent(i, "modified", { tags: ["\u0001".repeat(size / 6)] });

/** The outbox as SQLite has it: each row's length and event. */
function rows(path: string): { n: number; event: ChangeEvent }[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare("SELECT length(event) AS n, event FROM outbox ORDER BY id").all() as {
      n: number;
      event: string;
    }[]).map((r) => ({ n: r.n, event: JSON.parse(r.event) }));
  } finally {
    db.close();
  }
}

Deno.test("the outbox keeps events whole to 3/4 of its budget, short to all of it, then none", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bpfink.db`;
  const said: string[] = [];
  const faults = {
    fault: (part: string, e: unknown) => said.push(`${part}: ${e}`),
    recovered: (part: string, what?: string) => said.push(`${part} recovered: ${what}`),
  };
  const max = 64 * 1024;
  const store = BaselineStore.open(path, { outboxMaxBytes: max, faults });
  const out: { id: number; event: ChangeEvent }[] = [];
  try {
    for (let i = 0; i < 60; i++) out.push(...store.commit([], [big(i)]));
    // The outputs get every event whole, whatever waits on disk.
    assert(out.every((o, i) => o.event.tags?.[0] === big(i).tags?.[0]));
    const kept = rows(path);
    const sum = kept.reduce((a, r) => a + r.n, 0);
    assertEquals(store.outbox.bytes, sum);
    assert(sum <= max, `${sum} characters in an outbox of ${max}`);
    const whole = kept.filter((r) => !r.event.bpfink?.truncated);
    const short = kept.filter((r) => r.event.bpfink?.truncated);
    assert(whole.length >= 10 && short.length >= 5, `${whole.length} whole, ${short.length} short`);
    // Whole first, then short: the rows keep the order the events were made in.
    assertEquals(kept.map((r) => r.event.bpfink?.truncated ?? false), [
      ...whole.map(() => false),
      ...short.map(() => true),
    ]);
    assert(short.every((r) => r.n <= SHORT_EVENT_BYTES));
    assert(whole.reduce((a, r) => a + r.n, 0) <= max * 3 / 4);
    // Which change it was, and to which file, survives the cut.
    const firstShort = out[whole.length].event;
    assertEquals(short[0].event.event, firstShort.event);
    assertEquals(short[0].event.file?.path, firstShort.file?.path);
    const none = out.filter((o) => o.id === NOT_IN_OUTBOX);
    assertEquals(none.length, 60 - kept.length);
    assert(none.length > 0);
    assertEquals(
      [store.outbox.shortened, store.outbox.notKept],
      [short.length, none.length],
    );
    assertEquals(said.length, 1, said.join("\n"));
    assert(said[0].startsWith("outbox: "), said[0]);

    // Delivered: the outbox is empty again, and says so.
    store.ack(out.map((o) => o.id));
    assertEquals([store.outbox.bytes, rows(path).length], [0, 0]);
    assertEquals(said.length, 2, said.join("\n"));
    assert(said[1].startsWith("outbox recovered"), said[1]);
    out.length = 0;
    for (let i = 100; i < 103; i++) out.push(...store.commit([], [big(i)]));
  } finally {
    store.close();
  }
  // A start measures what the last run left.
  const again = BaselineStore.open(path, { outboxMaxBytes: max, faults });
  try {
    again.commit([], [big(200)]);
    assertEquals(again.outbox.bytes, rows(path).reduce((a, r) => a + r.n, 0));
    assertEquals(rows(path).length, 4);
  } finally {
    again.close();
  }
});

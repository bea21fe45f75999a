/**
 * Rewrites the events a database keeps (the outbox's and the event
 * history's), for the migrations that take out what an older bpfink kept.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/**
 * Replaces each event's JSON in the outbox and the event history of `db`
 * (those of its tables that exist) by what `rewrite` returns for it, within
 * the caller's transaction; returns the events changed.
 */
export function rewriteEvents(db: DatabaseSync, rewrite: (json: string) => string): number {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[]).map((t) => t.name),
  );
  let changed = 0;
  for (const [table, key] of [["outbox", "id"], ["event_history", "seq"]]) {
    if (!tables.has(table)) continue;
    const rows = db.prepare(`SELECT ${key} AS id, event FROM ${table}`).all() as {
      id: number;
      event: string;
    }[];
    const set = db.prepare(`UPDATE ${table} SET event = ? WHERE ${key} = ?`);
    for (const { id, event } of rows) {
      const now = rewrite(event);
      if (now !== event) {
        set.run(now, id);
        changed++;
      }
    }
  }
  return changed;
}

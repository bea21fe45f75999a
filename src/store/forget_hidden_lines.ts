/**
 * Takes the lines of files now hidden from others out of what an older
 * bpfink stored. Before 2026-12-08 a plain file no other user may read (a
 * key, a credential file) was kept as text and reported with line diffs;
 * bpfink now keeps its lines as keyed fingerprints (hiddenFromOthers in
 * change_pipeline.ts). The startup read replaces such a baseline snapshot;
 * this takes the diffs out of the events still queued (outbox) and kept
 * (event_history) about those paths, and vacuums the database, so that the
 * old pages go too.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { rewriteEvents } from "./rewrite_events.ts";

/** An event's JSON without its line diff when it is about one of `paths`; the same text else. */
function withoutDiff(text: string, paths: ReadonlySet<string>): string {
  try {
    const e = JSON.parse(text);
    if (!paths.has(e?.file?.path) || e?.bpfink?.diff === undefined) return text;
    const { diff: _diff, ...rest } = e.bpfink;
    return JSON.stringify({ ...e, bpfink: { ...rest, secret: true } });
  } catch {
    return text;
  }
}

/**
 * Removes the line diffs of events about `paths` from the outbox and the
 * event history in `db`, then vacuums it (with the baseline's own snapshots
 * of those paths replaced already: the freed pages held their text). Returns
 * the events changed.
 */
export function forgetHiddenLines(db: DatabaseSync, paths: ReadonlySet<string>): number {
  let changed = 0;
  db.exec("BEGIN");
  try {
    changed = rewriteEvents(db, (json) => withoutDiff(json, paths));
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
  db.exec("VACUUM");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return changed;
}

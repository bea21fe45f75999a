/**
 * Takes the password hashes out of a database an older bpfink wrote. Before
 * 2026-12-06 a file holding hashes under a name that is not a password
 * file's (a copy of shadow, an htpasswd, a file sudoers includes) was kept
 * and reported as it was; bpfink now redacts them (password_hashes.ts), and
 * this does the same once to what is already stored: the baseline's
 * snapshots (but the password files' own, which keep keyed fingerprints),
 * the outbox, and the event history. When a row changed, the database is
 * vacuumed, so that the old pages go too.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { redactPasswordHashes, redactPasswordHashesIn } from "../consumers/password_hashes.ts";
import { mayHoldPasswordHash } from "../watch/hash_sniff.ts";
import { rewriteEvents } from "./rewrite_events.ts";

/** The meta key set once the database was scrubbed. */
const DONE = "password_hashes_scrubbed";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A JSON text with the hashes in its strings redacted (each string on its
 * own: a DES hash is known by its place in a line); the same text when it
 * held none.
 */
function scrubJson(text: string): string {
  try {
    const value = JSON.parse(text);
    const out = JSON.stringify(redactPasswordHashesIn(value));
    return out === JSON.stringify(value) ? text : out;
  } catch {
    return text;
  }
}

/**
 * Scrubs `db` unless it was (meta `password_hashes_scrubbed`); returns the
 * rows changed. Runs before the store takes the database into use.
 */
export function scrubPasswordHashes(db: DatabaseSync): number {
  if (db.prepare("SELECT 1 FROM meta WHERE key = ?").get(DONE)) return 0;
  let changed = 0;
  db.exec("BEGIN");
  try {
    const baseline = db.prepare(
      "SELECT rowid AS id, snapshot FROM baseline " +
        "WHERE snapshot IS NOT NULL AND consumer NOT IN ('users', 'groups')",
    ).all() as { id: number; snapshot: string | Uint8Array }[];
    const setSnapshot = db.prepare("UPDATE baseline SET snapshot = ? WHERE rowid = ?");
    for (const { id, snapshot } of baseline) {
      let now: string | Uint8Array = snapshot;
      if (typeof snapshot === "string") now = scrubJson(snapshot);
      else if (mayHoldPasswordHash(snapshot)) {
        const text = decoder.decode(snapshot);
        const redacted = redactPasswordHashes(text);
        if (redacted !== text) now = encoder.encode(redacted);
      }
      if (now !== snapshot) {
        setSnapshot.run(now, id);
        changed++;
      }
    }
    changed += rewriteEvents(db, scrubJson);
    db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)").run(DONE, new Date().toISOString());
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
  if (changed > 0) {
    db.exec("VACUUM");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  return changed;
}

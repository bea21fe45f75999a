/**
 * The daemon's event history: every event it reports, kept in its database
 * (table `event_history`, the newest `maxRows` within `maxBytes` of JSON),
 * so `bpfink events` can query
 * the past and `bpfink status` can show what the agent is. Also records the
 * running agent's pid (table `agent_process`). Events hold no secret (the
 * consumers never put one in), so keeping them adds none to the database.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { FaultListener, Output, OutputCounters, SettledListener } from "./output.ts";
import { errorMessage } from "../error_message.ts";
import { fileId } from "../store/file_id.ts";
import { CONFIG_DEFAULTS } from "../config/config_defaults.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS event_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  ts TEXT NOT NULL,
  action TEXT NOT NULL,
  path TEXT,
  severity TEXT,
  event TEXT NOT NULL,
  bytes INTEGER
);
CREATE INDEX IF NOT EXISTS event_history_ts ON event_history (ts);
CREATE TABLE IF NOT EXISTS agent_process (one INTEGER PRIMARY KEY CHECK (one = 1), pid INTEGER, started TEXT);
`;

/** Opens `path` for the history (WAL, shared with the baseline store; root-only like it). */
export function openHistoryDb(path: string): DatabaseSync {
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    Deno.writeFileSync(path, new Uint8Array(), { mode: 0o600, createNew: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;");
  db.exec(SCHEMA);
  // Each row's size, in an index of its own: summed without reading the events (a history
  // written before sizes were kept gets them once).
  const columns = db.prepare("PRAGMA table_info(event_history)").all() as { name: string }[];
  if (!columns.some((c) => c.name === "bytes")) {
    db.exec("ALTER TABLE event_history ADD COLUMN bytes INTEGER");
  }
  db.exec(
    "UPDATE event_history SET bytes = length(event) WHERE bytes IS NULL; " +
      "CREATE INDEX IF NOT EXISTS event_history_sizes ON event_history (seq, bytes);",
  );
  return db;
}

/** How much the history keeps. */
export interface HistoryLimits {
  /** Events (default 100,000). */
  maxRows?: number;
  /** Characters of their JSON (default CONFIG_DEFAULTS.historyMaxBytes). */
  maxBytes?: number;
}

/**
 * Keeps every event in the database, the newest `maxRows` within `maxBytes`:
 * past either, the oldest leave it first. Without the bound in bytes, a local
 * user who rewrites a file of their own in a watched tree would make it keep
 * 100,000 line diffs of up to 64 KiB (6 GiB) on the host's disk. The database is opened
 * at the first event (the start record), after the agent has opened, checked
 * and locked it. An event it cannot keep (a full disk) never stops the events
 * reaching the other outputs: it is counted (`bpfink_sink_dropped_total`
 * and `bpfink_sink_errors_total` with `output="history"`), the history is on
 * the fault board while it fails, and the agent tries the event again (its
 * outbox row stays until the history has it too).
 */
export class EventHistory implements Output {
  readonly name = "history";
  #db?: DatabaseSync;
  #insert?: ReturnType<DatabaseSync["prepare"]>;
  #since = 0;
  /** Events the history could not keep (full disk, broken database). */
  failed = 0;

  readonly maxRows: number;
  readonly maxBytes: number;
  /** Characters of JSON kept now (measured when the database is opened). */
  #bytes = 0;

  constructor(readonly path: string, limits: HistoryLimits = {}) {
    this.maxRows = limits.maxRows ?? 100_000;
    this.maxBytes = limits.maxBytes ?? CONFIG_DEFAULTS.historyMaxBytes;
  }

  /** Characters of JSON the history keeps now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The database file's identity when opened ("dev:ino"): one rebuilt under the agent is reopened. */
  #fileId?: string;

  #open(): ReturnType<DatabaseSync["prepare"]> {
    if (this.#insert) {
      // Missing: the store is writing it again; this event goes to the open one meanwhile.
      const now = fileId(this.path);
      if (now === undefined || now === this.#fileId) return this.#insert;
    }
    if (this.#insert) this.#drop();
    // Opened before and gone now: the store is writing the database again, never this.
    if (this.#fileId !== undefined && fileId(this.path) === undefined) {
      throw new Error(`the database ${this.path} is being written again by the store`);
    }
    const db = openHistoryDb(this.path);
    this.#db = db;
    this.#fileId = fileId(this.path);
    db.prepare("INSERT OR REPLACE INTO agent_process (one, pid, started) VALUES (1, ?, ?)")
      .run(Deno.pid, new Date().toISOString());
    this.#insert = db.prepare(
      "INSERT OR IGNORE INTO event_history (id, ts, action, path, severity, event, bytes) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#bytes = (db.prepare("SELECT coalesce(sum(bytes), 0) AS n FROM event_history").get() as {
      n: number;
    }).n;
    return this.#insert;
  }

  write(e: ChangeEvent): void {
    try {
      this.#keep(e);
    } catch (err) {
      // Not kept now (a full disk, a broken database): counted, on the fault board, and the
      // agent tries it again with the next events behind it (they are in its outbox).
      this.#drop(); // opened again for the next event (the store may have rebuilt the database)
      this.failed++;
      this.#errors++;
      this.#fault?.(
        `event history in ${this.path}: ${errorMessage(err)} (bpfink events misses these ` +
          `events until they are kept; the other outputs are not affected)`,
      );
      this.#failing = true;
      this.#settle(e, false);
      return;
    }
    this.#kept++;
    if (this.#failing) {
      this.#failing = false;
      this.#fault?.(undefined);
    }
    this.#settle(e, true);
  }

  #settle(e: ChangeEvent, kept: boolean): void {
    if (!kept) this.#missed++;
    try {
      this.#settled?.([e], kept);
    } catch {
      // A hook must not stop the history.
    }
  }

  /** Hears each event kept (`true`) or not kept now (`false`: the agent tries it again). */
  onSettled(listener: SettledListener): void {
    this.#settled = listener;
  }

  /** Hears the history failing (the error) and keeping events again (`undefined`). */
  onFault(listener: FaultListener): void {
    this.#fault = listener;
  }

  #settled?: SettledListener;
  #fault?: FaultListener;
  #failing = false;
  #kept = 0;
  #missed = 0;
  #errors = 0;
  /** sent: events kept; dropped and errors: events it could not keep when written. */
  readonly counters: OutputCounters = (() => {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      get sent() {
        return self.#kept;
      },
      get dropped() {
        return self.#missed;
      },
      get errors() {
        return self.#errors;
      },
      queued: 0,
    };
  })();

  #keep(e: ChangeEvent): void {
    // As first reported: an event the history kept late is not marked redelivered here.
    const json = JSON.stringify(
      e.bpfink?.redelivered ? { ...e, bpfink: { ...e.bpfink, redelivered: undefined } } : e,
    );
    const r = this.#open().run(
      e.event.id,
      e["@timestamp"],
      e.event.action,
      e.file?.path ?? null,
      typeof e.bpfink?.severity === "string" ? e.bpfink.severity : null,
      json,
      json.length,
    );
    if (r.changes) this.#bytes += json.length;
    const db = this.#db!;
    if (++this.#since >= 1000) {
      this.#since = 0;
      const gone = db.prepare(
        "DELETE FROM event_history WHERE seq <= (SELECT max(seq) FROM event_history) - ? " +
          "RETURNING bytes",
      ).all(this.maxRows) as { bytes: number | null }[];
      for (const g of gone) this.#bytes -= g.bytes ?? 0;
    }
    if (this.#bytes > this.maxBytes) {
      try {
        this.#trim(db);
      } catch { /* kept: the next event tries again */ }
    }
  }

  /** Lets the oldest events go until the history is at 7/8 of maxBytes (so not at every event). */
  #trim(db: DatabaseSync): void {
    let excess = this.#bytes - this.maxBytes * 7 / 8;
    let through: number | undefined;
    // The sizes' index, in order: the events themselves are not read.
    const sizes = db.prepare(
      "SELECT seq, bytes FROM event_history INDEXED BY event_history_sizes ORDER BY seq",
    ).iterate() as IterableIterator<{ seq: number; bytes: number | null }>;
    for (const r of sizes) {
      through = r.seq;
      excess -= r.bytes ?? 0;
      if (excess <= 0) break;
    }
    if (through === undefined) return;
    const gone = db.prepare("DELETE FROM event_history WHERE seq <= ? RETURNING bytes")
      .all(through) as { bytes: number | null }[];
    for (const g of gone) this.#bytes -= g.bytes ?? 0;
  }

  #drop(): void {
    try {
      this.#db?.close();
    } catch { /* broken: nothing more to keep */ }
    this.#db = undefined;
    this.#insert = undefined;
  }

  close(): Promise<void> {
    try {
      this.#db?.prepare("DELETE FROM agent_process WHERE pid = ?").run(Deno.pid);
      this.#db?.close();
    } catch {
      // the database went away with the agent's store; nothing more to keep
    }
    this.#db = undefined;
    this.#insert = undefined;
    return Promise.resolve();
  }
}

/** What to look for in the history. */
export interface HistoryQuery {
  since?: Date;
  until?: Date;
  /** `event.action`, exactly. */
  action?: string;
  /** A test on `file.path` (a glob, compiled by the caller). */
  path?: (path: string) => boolean;
  limit?: number;
}

/** Events in the history matching `q`, oldest first (the newest `limit`). */
export function queryHistory(db: DatabaseSync, q: HistoryQuery): ChangeEvent[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.since) (where.push("ts >= ?"), args.push(q.since.toISOString()));
  if (q.until) (where.push("ts <= ?"), args.push(q.until.toISOString()));
  if (q.action) (where.push("action = ?"), args.push(q.action));
  // Read a row at a time: the history may hold far more than the events asked for.
  const rows = db.prepare(
    `SELECT event, path FROM event_history ${
      where.length ? "WHERE " + where.join(" AND ") : ""
    } ORDER BY seq DESC`,
  ).iterate(...args) as IterableIterator<{ event: string; path: string | null }>;
  const out: ChangeEvent[] = [];
  const limit = q.limit ?? 1000;
  for (const r of rows) {
    if (q.path && !(r.path && q.path(r.path))) continue;
    out.push(JSON.parse(r.event));
    if (out.length >= limit) break;
  }
  return out.reverse();
}

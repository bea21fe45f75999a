/**
 * The baseline: what each watched path looked like when bpfink last reported
 * it, in SQLite (node:sqlite, WAL). Changes and the events that report them
 * are committed in one transaction into an outbox; events leave the outbox
 * only once every output has taken them. A crash at any point leaves a
 * consistent baseline, and an event is delivered again rather than lost.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import {
  createTrustedFile,
  ensureTrustedDir,
  sibling,
  trustProblems,
  UntrustedFileError,
} from "./trusted_file.ts";
import type { ChangeEvent } from "../events/change_event.ts";
import type { FileState } from "../watch/file_state.ts";

/** What bpfink remembers about one path. */
export interface BaselineRecord {
  path: string;
  consumer: string;
  dev: number;
  ino: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  ctimeMs?: number;
  nlink?: number;
  sha256?: string;
  /** The consumer's parsed view (secrets fingerprinted), JSON. */
  snapshot?: unknown;
}

/** An event waiting in the outbox. */
export interface OutboxEntry {
  id: number;
  event: ChangeEvent;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS baseline (
  path TEXT PRIMARY KEY,
  consumer TEXT NOT NULL,
  dev INTEGER NOT NULL,
  ino TEXT NOT NULL,
  size INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  ctime_ms INTEGER,
  nlink INTEGER,
  sha256 TEXT,
  snapshot TEXT,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface Row {
  path: string;
  consumer: string;
  dev: number;
  ino: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime_ms: number;
  ctime_ms: number | null;
  nlink: number | null;
  sha256: string | null;
  snapshot: string | null;
}

/** The baseline database. */
export class BaselineStore {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #del: StatementSync;
  readonly #enqueue: StatementSync;
  readonly #ack: StatementSync;

  private constructor(db: DatabaseSync, readonly path: string) {
    this.#db = db;
    this.#get = db.prepare("SELECT * FROM baseline WHERE path = ?");
    this.#put = db.prepare(
      `INSERT INTO baseline (path, consumer, dev, ino, size, mode, uid, gid, mtime_ms, ctime_ms, nlink, sha256,
         snapshot, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET consumer=excluded.consumer, dev=excluded.dev, ino=excluded.ino,
         size=excluded.size, mode=excluded.mode, uid=excluded.uid, gid=excluded.gid, mtime_ms=excluded.mtime_ms,
         ctime_ms=excluded.ctime_ms, nlink=excluded.nlink,
         sha256=excluded.sha256, snapshot=excluded.snapshot, updated_at=excluded.updated_at`,
    );
    this.#del = db.prepare("DELETE FROM baseline WHERE path = ?");
    this.#enqueue = db.prepare("INSERT INTO outbox (event) VALUES (?)");
    this.#ack = db.prepare("DELETE FROM outbox WHERE id = ?");
  }

  /**
   * Opens (creating) the database at `path`, root-only (dir 0700, file 0600).
   * `:memory:` keeps it in memory (interactive mode).
   */
  static open(path: string): BaselineStore {
    if (path !== ":memory:") prepareDatabaseFiles(path);
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
    db.exec(SCHEMA);
    return new BaselineStore(db, path);
  }

  /** The record for `path`. */
  get(path: string): BaselineRecord | undefined {
    const r = this.#get.get(path) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Every recorded path. */
  paths(): string[] {
    return (this.#db.prepare("SELECT path FROM baseline ORDER BY path").all() as { path: string }[])
      .map((r) => r.path);
  }

  /** Number of records. */
  get size(): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM baseline").get() as { n: number }).n;
  }

  /**
   * Atomically applies baseline updates (`undefined` deletes the path) and
   * queues `events`; returns the outbox entries to deliver.
   */
  commit(updates: [string, BaselineRecord | undefined][], events: ChangeEvent[]): OutboxEntry[] {
    const now = new Date().toISOString();
    const out: OutboxEntry[] = [];
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const [path, rec] of updates) {
        if (!rec) this.#del.run(path);
        else {
          this.#put.run(
            path,
            rec.consumer,
            rec.dev,
            rec.ino,
            rec.size,
            rec.mode,
            rec.uid,
            rec.gid,
            Math.trunc(rec.mtimeMs),
            rec.ctimeMs === undefined ? null : Math.trunc(rec.ctimeMs),
            rec.nlink ?? null,
            rec.sha256 ?? null,
            rec.snapshot === undefined ? null : JSON.stringify(rec.snapshot),
            now,
          );
        }
      }
      for (const e of events) {
        const r = this.#enqueue.run(JSON.stringify(e));
        out.push({ id: Number(r.lastInsertRowid), event: e });
      }
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
    return out;
  }

  /** Marks outbox entries delivered. */
  ack(ids: number[]): void {
    if (ids.length === 0) return;
    this.#db.exec("BEGIN");
    try {
      for (const id of ids) this.#ack.run(id);
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Events committed but not delivered before the last stop (oldest first). */
  undelivered(): OutboxEntry[] {
    const rows = this.#db.prepare("SELECT id, event FROM outbox ORDER BY id").all() as {
      id: number;
      event: string;
    }[];
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) as ChangeEvent }));
  }

  /** A value from the meta table. */
  meta(key: string): string | undefined {
    return (this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
      | { value: string }
      | undefined)
      ?.value;
  }

  /** Sets a meta value. */
  setMeta(key: string, value: string): void {
    this.#db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
    )
      .run(key, value);
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}

/** The database and the files SQLite keeps beside it. */
export function databaseFiles(path: string): string[] {
  return [path, sibling(path, "-wal"), sibling(path, "-shm"), sibling(path, "-journal")];
}

/**
 * Checks the database's directory and files (trusted_file.ts), creates the
 * directory (0700) and an empty database file (0600, O_EXCL|O_NOFOLLOW) if
 * missing, and takes group/other read access away from what is there.
 */
function prepareDatabaseFiles(path: string): void {
  const problems = new Set(trustProblems(dirname(path), { what: "database", dir: true }));
  for (const f of databaseFiles(path)) {
    for (const p of trustProblems(f, { what: "database" })) problems.add(p);
  }
  if (problems.size) throw new UntrustedFileError([...problems]);
  ensureTrustedDir(dirname(path), "database");
  try {
    createTrustedFile(path, new Uint8Array(), { what: "database", mode: 0o600 });
  } catch (e) {
    if (!/already exists|EEXIST/i.test(String(e))) throw e;
  }
  for (const f of databaseFiles(path)) {
    // Checked above: root's regular files in a root-only directory, so no link to follow.
    try {
      Deno.chmodSync(f, 0o600);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

function fromRow(r: Row): BaselineRecord {
  return {
    path: r.path,
    consumer: r.consumer,
    dev: r.dev,
    ino: r.ino,
    size: r.size,
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    mtimeMs: r.mtime_ms,
    ctimeMs: r.ctime_ms ?? undefined,
    nlink: r.nlink ?? undefined,
    sha256: r.sha256 ?? undefined,
    snapshot: r.snapshot === null ? undefined : JSON.parse(r.snapshot),
  };
}

/** The file state a record describes (without content). */
export function stateOfRecord(r: BaselineRecord): FileState {
  return {
    id: { dev: r.dev, ino: BigInt(r.ino) },
    size: r.size,
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    mtimeMs: r.mtimeMs,
    ctimeMs: r.ctimeMs,
    nlink: r.nlink,
    sha256: r.sha256,
  };
}

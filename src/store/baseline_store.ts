/**
 * The baseline: what each watched path looked like when bpfink last reported
 * it, in SQLite (node:sqlite, WAL). Changes and the events that report them
 * are committed in one transaction into an outbox; events leave the outbox
 * only once every output has taken them. A crash at any point leaves a
 * consistent baseline, and an event is delivered again rather than lost.
 *
 * @module
 */
import { scrubPasswordHashes } from "./scrub_password_hashes.ts";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { AgentError } from "../agent/agent_error.ts";
import { oneLine } from "../agent/failure_policy.ts";
import { log } from "../log.ts";
import { type InstanceLock, lockDatabase } from "./instance_lock.ts";
import {
  createTrustedFile,
  ensureTrustedDir,
  sibling,
  trustProblems,
  UntrustedFileError,
} from "./trusted_file.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { FileState } from "../watch/file_state.ts";
import type { EntryType } from "../watch/native_fs.ts";
import { errorMessage } from "../error_message.ts";
import { decodePathBytes, pathBytes } from "../watch/path_bytes.ts";

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
  /** Nanosecond timestamps (stored as decimal text), when known. */
  mtimeNs?: bigint;
  ctimeNs?: bigint;
  nlink?: number;
  sha256?: string;
  /** What the path is; undefined in rows of a bpfink that did not store it. */
  type?: EntryType;
  /** A symlink's target. */
  linkTarget?: string;
  /**
   * The consumer's parsed view (secrets fingerprinted), stored as JSON; or
   * bytes (a text file's content, for line diffs), stored as they are.
   */
  snapshot?: unknown;
}

/** How the store reports faults it survives (the agent's FaultBoard). */
export interface StoreFaults {
  fault(part: string, error: unknown, consequence: string): void;
  recovered(part: string, what?: string): void;
}

/** Options of `BaselineStore.open`. */
export interface StoreOptions {
  /** Where write faults (disk full, I/O errors) are reported. */
  faults?: StoreFaults;
  /** How often to retry writing the baseline while it is behind (ms). Default 2000. */
  retryMs?: number;
  /**
   * A database nobody opens again (interactive mode's, removed on stop, or
   * left for nothing after a crash): written once, with its rollback journal
   * in memory and no fsync, instead of through a write-ahead log synced to
   * disk. Line diffs keep every text file's lines here, so a first baseline
   * writes the tree's text once, not twice.
   */
  temporary?: boolean;
}

/** Why the baseline was started afresh, when it was. */
export interface BaselineReset {
  /** What was wrong, one line (e.g. "database disk image is malformed"). */
  reason: string;
  /** Where the old database was moved (kept for forensics). */
  movedTo: string;
}

/** An outbox id for an event that could not be written to the outbox (delivered from memory). */
export const NOT_IN_OUTBOX = -1;

/** An event waiting in the outbox. */
export interface OutboxEntry {
  id: number;
  event: ChangeEvent;
}

/* `path` holds the path's exact bytes (a BLOB, see path_bytes.ts): a name
 * that is not UTF-8 must not collide with another once stored. */
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
  updated_at TEXT NOT NULL,
  mtime_ns TEXT,
  ctime_ns TEXT,
  type TEXT,
  link_target TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface Row {
  path: Uint8Array;
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
  snapshot: string | Uint8Array | null;
  mtime_ns?: string | null;
  ctime_ns?: string | null;
  type?: string | null;
  link_target?: string | null;
}

/** Rows one run of the multi-row insert writes (a first baseline writes thousands at once). */
const PUT_ROWS = 16;
/** The columns putSql() names: the values each row binds. */
const PUT_COLUMNS = 18;
/** One row's placeholders. */
const PUT_ROW = `(${Array(PUT_COLUMNS).fill("?").join(", ")})`;

/** The insert (or update) of `rows` baseline rows in one statement. */
function putSql(rows: number): string {
  return `INSERT INTO baseline (path, consumer, dev, ino, size, mode, uid, gid, mtime_ms, ctime_ms, nlink, sha256,
         snapshot, updated_at, mtime_ns, ctime_ns, type, link_target)
       VALUES ${Array(rows).fill(PUT_ROW).join(", ")}
       ON CONFLICT(path) DO UPDATE SET consumer=excluded.consumer, dev=excluded.dev, ino=excluded.ino,
         size=excluded.size, mode=excluded.mode, uid=excluded.uid, gid=excluded.gid, mtime_ms=excluded.mtime_ms,
         ctime_ms=excluded.ctime_ms, nlink=excluded.nlink,
         sha256=excluded.sha256, snapshot=excluded.snapshot, updated_at=excluded.updated_at,
         mtime_ns=excluded.mtime_ns, ctime_ns=excluded.ctime_ns, type=excluded.type,
         link_target=excluded.link_target`;
}

/** The baseline database. */
export class BaselineStore {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #putMany: StatementSync;
  readonly #del: StatementSync;
  readonly #enqueue: StatementSync;
  readonly #ack: StatementSync;

  /** Set when a corrupt database was moved aside and this one started afresh. */
  reset?: BaselineReset;
  #lock?: InstanceLock;
  readonly #opts: StoreOptions;
  /** Baseline updates not written yet (disk full...), by path; `undefined` deletes. */
  readonly #behind = new Map<string, BaselineRecord | undefined>();
  #retry?: ReturnType<typeof setTimeout>;
  #closed = false;
  #ackFailing = false;

  private constructor(db: DatabaseSync, readonly path: string, opts: StoreOptions) {
    this.#db = db;
    this.#opts = opts;
    this.#get = db.prepare("SELECT * FROM baseline WHERE path = ?");
    this.#put = db.prepare(putSql(1));
    this.#putMany = db.prepare(putSql(PUT_ROWS));
    this.#del = db.prepare("DELETE FROM baseline WHERE path = ?");
    this.#enqueue = db.prepare("INSERT INTO outbox (event) VALUES (?)");
    this.#ack = db.prepare("DELETE FROM outbox WHERE id = ?");
  }

  /**
   * Opens (creating) the database at `path`, root-only (dir 0700, file 0600),
   * one instance per database (a lock). A corrupt database is moved aside
   * (kept) and a fresh one started: `reset` says why. `:memory:` keeps it in
   * memory (interactive mode).
   */
  static open(path: string, opts: StoreOptions = {}): BaselineStore {
    if (path === ":memory:") return new BaselineStore(openChecked(path, true), path, opts);
    prepareDatabaseFiles(path);
    const lock = lockDatabase(path);
    try {
      let reset: BaselineReset | undefined;
      let db: DatabaseSync;
      try {
        db = openChecked(path, opts.temporary);
      } catch (e) {
        if (!isCorruption(e)) {
          throw new AgentError(`cannot open the database ${path}: ${oneLine(e)}`);
        }
        reset = { reason: oneLine(e), movedTo: moveAside(path) };
        prepareDatabaseFiles(path);
        db = openChecked(path, opts.temporary);
      }
      const store = new BaselineStore(db, path, opts);
      store.reset = reset;
      store.#lock = lock;
      return store;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** The record for `path`. */
  get(path: string): BaselineRecord | undefined {
    if (this.#behind.has(path)) return this.#behind.get(path);
    const r = this.#get.get(pathBytes(path)) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Every recorded path. */
  paths(): string[] {
    const stored = (this.#db.prepare("SELECT path FROM baseline ORDER BY path").all() as {
      path: Uint8Array;
    }[]).map((r) => decodePathBytes(r.path));
    if (!this.#behind.size) return stored;
    const all = new Set(stored);
    for (const [p, rec] of this.#behind) rec ? all.add(p) : all.delete(p);
    return [...all].sort();
  }

  /** Baseline updates held in memory because the database could not be written. */
  get behind(): number {
    return this.#behind.size;
  }

  /** Number of records. */
  get size(): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM baseline").get() as { n: number }).n;
  }

  /**
   * Atomically applies baseline updates (`undefined` deletes the path) and
   * queues `events`; returns the outbox entries to deliver. When the database
   * cannot be written (disk full, I/O error), the updates are kept in memory
   * (`get` sees them), retried until they are written, and the events are
   * returned with id `NOT_IN_OUTBOX` so they are still delivered, from memory.
   */
  commit(updates: [string, BaselineRecord | undefined][], events: ChangeEvent[]): OutboxEntry[] {
    try {
      const behind = this.#behind.size;
      const out = this.#write([...this.#behind, ...updates], events);
      if (behind) this.#caughtUp(behind);
      return out;
    } catch (e) {
      if (this.#closed) throw e;
      for (const [p, rec] of updates) this.#behind.set(p, rec);
      this.#opts.faults?.fault(
        "database",
        new Error(`cannot write the baseline database ${this.path}: ${oneLine(e)}`),
        `events are delivered from memory; the baseline is behind by ${this.#behind.size} ` +
          `paths and catches up when the database can be written`,
      );
      this.#scheduleCatchUp();
      return events.map((event) => ({ id: NOT_IN_OUTBOX, event }));
    }
  }

  #write(updates: [string, BaselineRecord | undefined][], events: ChangeEvent[]): OutboxEntry[] {
    const now = new Date().toISOString();
    const out: OutboxEntry[] = [];
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      // Rows are written PUT_ROWS to a statement run, in order: a delete first writes the rows before it.
      const rows: SQLInputValue[] = [];
      const flush = () => {
        for (let i = 0; i < rows.length; i += PUT_COLUMNS) {
          this.#put.run(...rows.slice(i, i + PUT_COLUMNS));
        }
        rows.length = 0;
      };
      for (const [path, rec] of updates) {
        if (!rec) {
          flush();
          this.#del.run(pathBytes(path));
          continue;
        }
        rows.push(
          pathBytes(path),
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
          rec.snapshot === undefined
            ? null
            : rec.snapshot instanceof Uint8Array
            ? rec.snapshot
            : JSON.stringify(rec.snapshot),
          now,
          rec.mtimeNs === undefined ? null : String(rec.mtimeNs),
          rec.ctimeNs === undefined ? null : String(rec.ctimeNs),
          rec.type ?? null,
          rec.linkTarget ?? null,
        );
        if (rows.length === PUT_COLUMNS * PUT_ROWS) {
          this.#putMany.run(...rows);
          rows.length = 0;
        }
      }
      flush();
      for (const e of events) {
        const r = this.#enqueue.run(JSON.stringify(e));
        out.push({ id: Number(r.lastInsertRowid), event: e });
      }
      this.#db.exec("COMMIT");
    } catch (e) {
      // SQLite rolls back by itself on SQLITE_FULL; roll back only what is still open.
      if (this.#db.isTransaction) {
        try {
          this.#db.exec("ROLLBACK");
        } catch { /* the original error is the one to report */ }
      }
      throw e;
    }
    this.#behind.clear();
    return out;
  }

  #caughtUp(n: number): void {
    this.#opts.faults?.recovered("database", `baseline caught up (${n} paths written)`);
  }

  /** Retries writing the updates held in memory until it works. */
  #scheduleCatchUp(): void {
    if (this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#closed || !this.#behind.size) return;
      const n = this.#behind.size;
      try {
        this.#write([...this.#behind], []);
        this.#caughtUp(n);
      } catch {
        this.#scheduleCatchUp();
      }
    }, this.#opts.retryMs ?? 2000);
  }

  /** Marks outbox entries delivered. */
  ack(ids: number[]): void {
    ids = ids.filter((id) => id !== NOT_IN_OUTBOX);
    if (ids.length === 0 || this.#closed) return;
    try {
      this.#db.exec("BEGIN");
      for (const id of ids) this.#ack.run(id);
      this.#db.exec("COMMIT");
      if (this.#ackFailing) {
        this.#ackFailing = false;
        this.#opts.faults?.recovered("database", "acknowledgements are written again");
      }
    } catch (e) {
      this.#ackFailing = true;
      if (this.#db.isTransaction) {
        try {
          this.#db.exec("ROLLBACK");
        } catch { /* reported below */ }
      }
      // Not acknowledged: delivered again (same event.id) on a later retry or start.
      this.#opts.faults?.fault(
        "database",
        new Error(`cannot acknowledge delivered events in ${this.path}: ${oneLine(e)}`),
        "they will be delivered again, with the same event.id",
      );
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

  /** Forgets every baseline record (the key changed: every fingerprint in them is void). */
  clearBaseline(): void {
    this.#behind.clear();
    this.#db.exec("DELETE FROM baseline");
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

  /** Closes the database (a last try to write what is behind) and releases the lock. */
  close(): void {
    if (this.#closed) return;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    if (this.#behind.size) {
      try {
        this.#write([...this.#behind], []);
      } catch (e) {
        log("store").warn(
          `${this.#behind.size} baseline updates could not be written (${oneLine(e)}); ` +
            `the next start reports those paths as changed while bpfink was down`,
        );
      }
    }
    this.#closed = true;
    this.#db.close();
    this.#lock?.release();
  }
}

/** The database and the files SQLite keeps beside it. */
export function databaseFiles(path: string): string[] {
  return [
    path,
    sibling(path, "-wal"),
    sibling(path, "-shm"),
    sibling(path, "-journal"),
    sibling(path, ".lock"),
  ];
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

/** Opens `path` and proves it is a database SQLite can read (quick_check). */
function openChecked(path: string, temporary = false): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(
      temporary
        ? "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;"
        : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    );
    const check = db.prepare("PRAGMA quick_check(1)").get() as Record<string, string> | undefined;
    const verdict = check ? Object.values(check)[0] : "ok";
    if (verdict !== "ok") throw new Error(`database disk image is malformed (${verdict})`);
    db.exec(SCHEMA);
    migrate(db);
    scrubPasswordHashes(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Brings a database of an older bpfink up to date: nanosecond timestamp,
 * entry type and link target columns (NULL in old rows: unknown, not compared), and paths stored as their bytes (older versions stored text, whose
 * bytes are the same for every name that is UTF-8; others were lost then).
 */
function migrate(db: DatabaseSync): void {
  const cols = new Set(
    (db.prepare("PRAGMA table_info(baseline)").all() as { name: string }[]).map((c) => c.name),
  );
  for (const c of ["mtime_ns", "ctime_ns", "type", "link_target"]) {
    if (!cols.has(c)) db.exec(`ALTER TABLE baseline ADD COLUMN ${c} TEXT`);
  }
  db.exec("UPDATE baseline SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'");
}

/** Whether SQLite said the file is not a sound database. */
function isCorruption(e: unknown): boolean {
  return /malformed|not a database|corrupt/i.test(errorMessage(e));
}

/** Moves the database and its WAL aside, as `<path>.corrupt-<time>`; returns that name. */
function moveAside(path: string): string {
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      Deno.renameSync(path + suffix, aside + suffix);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new AgentError(`the database ${path} is corrupt and cannot be moved aside: ${e}`);
      }
    }
  }
  return aside;
}

function fromRow(r: Row): BaselineRecord {
  return {
    path: decodePathBytes(r.path),
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
    snapshot: r.snapshot === null
      ? undefined
      : typeof r.snapshot === "string"
      ? JSON.parse(r.snapshot)
      : r.snapshot,
    mtimeNs: r.mtime_ns ? BigInt(r.mtime_ns) : undefined,
    ctimeNs: r.ctime_ns ? BigInt(r.ctime_ns) : undefined,
    type: r.type ? r.type as EntryType : undefined,
    linkTarget: r.link_target ?? undefined,
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
    mtimeNs: r.mtimeNs,
    ctimeNs: r.ctimeNs,
    nlink: r.nlink,
    sha256: r.sha256,
    type: r.type,
    linkTarget: r.linkTarget,
  };
}

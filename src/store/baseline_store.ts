/**
 * The baseline: what each watched path looked like when bpfink last reported
 * it, in SQLite (node:sqlite, WAL). Changes and the events that report them
 * are committed in one transaction into an outbox; events leave the outbox
 * only once every output has taken them. A crash at any point leaves a
 * consistent baseline, and an event is delivered again rather than lost.
 *
 * @module
 */
import { fileId } from "./file_id.ts";
import { scrubPasswordHashes } from "./scrub_password_hashes.ts";
import { forgetHiddenLines } from "./forget_hidden_lines.ts";
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
import { liveBytes } from "../watch/read_batch.ts";
import { EarlyWriteback } from "./early_writeback.ts";
import { OutboxBudget } from "./outbox_budget.ts";
import { OwnerText } from "./owner_text.ts";
import { CONFIG_DEFAULTS } from "../config/config_defaults.ts";

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
  /** ACLs, capabilities, other xattrs (name and digest) and inode flags (extra_attrs.ts). */
  attrs?: string;
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
   * writes the tree's text once, not twice. Its one connection holds the
   * file's lock for good (locking_mode EXCLUSIVE): a transaction takes and
   * drops no POSIX locks, looks for no journal or WAL beside it, and keeps
   * its page cache, so the text a report's diff reads back is not read from
   * the file again (a report of a growing 50 KB file read 12 pages back and
   * made 24 system calls for locks and checks; see bench/flood_cpu.ts).
   */
  temporary?: boolean;
  /**
   * Called once the database was found unusable while running (corrupt,
   * deleted or replaced) and rebuilt at its path: `baseline_reset`.
   */
  onReset?: (reset: BaselineReset) => void;
  /**
   * Only reads (bpfink check): nothing is created, changed or chmod-ed; a
   * corrupt database is an error, not moved aside.
   */
  readOnly?: boolean;
  /** How much the outbox may hold (outbox_budget.ts); default CONFIG_DEFAULTS.outboxMaxBytes. */
  outboxMaxBytes?: number;
  /** Text kept for line diffs per owner other than root (owner_text.ts); default CONFIG_DEFAULTS.userTextMaxBytes. */
  userTextMaxBytes?: number;
}

/** Why the baseline was started afresh, when it was. */
export interface BaselineReset {
  /** What was wrong, one line (e.g. "database disk image is malformed"). */
  reason: string;
  /** Where the old database was moved (kept for forensics); undefined when it was gone. */
  movedTo?: string;
  /**
   * How the new database was filled: "files" (from the files as they are at
   * this start: changes made before it are not reported), "memory" (from the
   * baseline the running agent held: nothing lost) or "copy" (from the open
   * database, whose file was deleted or replaced: nothing lost), "unfinished"
   * (a first baseline that did not finish, taken again: what it recorded is
   * compared, what it had not reached is recorded, not reported as created).
   */
  rebuiltFrom: "files" | "memory" | "copy" | "unfinished";
}

/**
 * The baseline as the running agent knows it without the database (the
 * watched paths' last states): what `get` and `paths` answer while the
 * database cannot be read, and what a rebuilt database is filled from.
 */
export interface MemoryBaseline {
  paths(): Iterable<string>;
  get(path: string): BaselineRecord | undefined;
}

/** Tells `text` what `rec` keeps for `path` now: its text's bytes, or nothing (owner_text.ts). */
function keepText(text: OwnerText, path: string, rec: BaselineRecord | undefined): void {
  text.kept(path, rec?.uid ?? 0, rec?.snapshot instanceof Uint8Array ? rec.snapshot.length : 0);
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
  link_target TEXT,
  attrs TEXT
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
  attrs?: string | null;
}

/** Rows one run of the multi-row insert writes (a first baseline writes thousands at once). */
const PUT_ROWS = 16;
/** The columns putSql() names: the values each row binds. */
const PUT_COLUMNS = 19;
/** One row's placeholders. */
const PUT_ROW = `(${Array(PUT_COLUMNS).fill("?").join(", ")})`;

/** The insert (or update) of `rows` baseline rows in one statement. */
function putSql(rows: number): string {
  return `INSERT INTO baseline (path, consumer, dev, ino, size, mode, uid, gid, mtime_ms, ctime_ms, nlink, sha256,
         snapshot, updated_at, mtime_ns, ctime_ns, type, link_target, attrs)
       VALUES ${Array(rows).fill(PUT_ROW).join(", ")}
       ON CONFLICT(path) DO UPDATE SET consumer=excluded.consumer, dev=excluded.dev, ino=excluded.ino,
         size=excluded.size, mode=excluded.mode, uid=excluded.uid, gid=excluded.gid, mtime_ms=excluded.mtime_ms,
         ctime_ms=excluded.ctime_ms, nlink=excluded.nlink,
         sha256=excluded.sha256, snapshot=excluded.snapshot, updated_at=excluded.updated_at,
         mtime_ns=excluded.mtime_ns, ctime_ns=excluded.ctime_ns, type=excluded.type,
         link_target=excluded.link_target, attrs=excluded.attrs`;
}

/** The prepared statements of one open database. */
class Statements {
  readonly get: StatementSync;
  readonly put: StatementSync;
  readonly putMany: StatementSync;
  readonly del: StatementSync;
  readonly enqueue: StatementSync;
  readonly ack: StatementSync;
  readonly outboxAfter: StatementSync;
  readonly outboxEnd: StatementSync;
  readonly outboxSize: StatementSync;
  constructor(db: DatabaseSync) {
    this.get = db.prepare("SELECT * FROM baseline WHERE path = ?");
    this.put = db.prepare(putSql(1));
    this.putMany = db.prepare(putSql(PUT_ROWS));
    this.del = db.prepare("DELETE FROM baseline WHERE path = ?");
    this.enqueue = db.prepare("INSERT INTO outbox (event) VALUES (?)");
    this.ack = db.prepare("DELETE FROM outbox WHERE id = ? RETURNING length(event) AS n");
    this.outboxAfter = db.prepare(
      "SELECT id, event FROM outbox WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
    );
    this.outboxEnd = db.prepare("SELECT max(id) AS id FROM outbox");
    this.outboxSize = db.prepare("SELECT coalesce(sum(length(event)), 0) AS n FROM outbox");
  }
}

/** How often a running store checks that its file is still the one it opened (ms). */
const FILE_CHECK_MS = 5000;

/** The baseline database. */
export class BaselineStore {
  #db: DatabaseSync;
  #sql: Statements;

  /** Set when the database was unusable at open and this one started afresh. */
  reset?: BaselineReset;
  #lock?: InstanceLock;
  readonly #opts: StoreOptions;
  /** Baseline updates not written yet (disk full...), by path; `undefined` deletes. */
  readonly #behind = new Map<string, BaselineRecord | undefined>();
  #retry?: ReturnType<typeof setTimeout>;
  #closed = false;
  #ackFailing = false;
  /**
   * The records of parsed and fingerprinted files (passwd, shadow, sudoers,
   * secret files: few and small), kept in memory too: their meaning survives
   * a database lost while running, so a change to them is still diffed.
   */
  readonly #hot = new Map<string, BaselineRecord>();
  /** The meta table, as written and read (rewritten into a rebuilt database). */
  readonly #metaSeen = new Map<string, string>();
  /** The highest outbox id handed out: a rebuilt outbox continues after it. */
  #lastOutboxId = 0;
  /** Why the database cannot be used now (corrupt, deleted), while it cannot. */
  #broken?: string;
  /** The database file's identity at open ("dev:ino"), to see it deleted or replaced. */
  #fileId?: string;
  #fileCheck?: ReturnType<typeof setInterval>;
  /** Corrupt (rebuilt from memory) or its file gone (copied from the open database). */
  #brokenKind?: "corrupt" | "gone";
  /** The open database was closed (a rebuild that failed half way). */
  #dbClosed = false;
  /** A first baseline is being written without the write-ahead log (beginBulk). */
  #bulk = false;
  /** Meanwhile, the database file's dirty pages go to disk after each commit. */
  #writeback?: EarlyWriteback;
  #lockId?: string;
  /**
   * Why the database could not be opened for writing at start (a full disk),
   * while it cannot: it is read as it was, every update waits in memory.
   */
  #full?: string;
  /** Meta values not written yet (the database is read-only for now); undefined deletes. */
  readonly #metaPending = new Map<string, string | undefined>();
  /** The running agent's baseline, once it has one (see MemoryBaseline). */
  memory?: MemoryBaseline;
  /** The outbox's size against its budget, and what it did past it. */
  readonly outbox: OutboxBudget;
  /** The text kept for line diffs per owner (undefined until first asked, or after a rebuild). */
  #text?: OwnerText;
  /** Refusals counted by an OwnerText since dropped. */
  #textRefused = 0;

  private constructor(db: DatabaseSync, readonly path: string, opts: StoreOptions) {
    this.#opts = opts;
    this.outbox = new OutboxBudget(opts.outboxMaxBytes, opts.faults);
    this.#db = db;
    this.#sql = new Statements(db);
  }

  /**
   * Opens (creating) the database at `path`, root-only (dir 0700, file 0600),
   * one instance per database (a lock). A corrupt database is moved aside
   * (kept) and a fresh one started: `reset` says why. `:memory:` keeps it in
   * memory (interactive mode).
   */
  static open(path: string, opts: StoreOptions = {}): BaselineStore {
    if (path === ":memory:") return new BaselineStore(openChecked(path, true), path, opts);
    if (opts.readOnly) return BaselineStore.#openReadOnly(path, opts);
    let lock: InstanceLock;
    try {
      prepareDatabaseFiles(path);
      lock = lockDatabase(path);
    } catch (e) {
      throw e instanceof AgentError ? e : new AgentError(cannotOpen(path, e));
    }
    try {
      let reset: BaselineReset | undefined;
      let full: string | undefined;
      let db: DatabaseSync;
      try {
        db = openChecked(path, opts.temporary);
      } catch (e) {
        if (!isCorruption(e) && opts.onReset && !opts.temporary && isDiskFull(path, e)) {
          // A full disk never stops monitoring: the baseline is read as it is, updates wait in
          // memory, and the database is opened for writing once there is space.
          full = oneLine(e);
          db = openBehind(path);
        } else if (!isCorruption(e)) {
          throw new AgentError(cannotOpen(path, e));
        } else {
          reset = { reason: oneLine(e), movedTo: moveAside(path), rebuiltFrom: "files" };
          prepareDatabaseFiles(path);
          db = openChecked(path, opts.temporary);
        }
      }
      const store = new BaselineStore(db, path, opts);
      store.reset = reset;
      store.#lock = lock;
      store.#lockId = fileId(sibling(path, ".lock"));
      store.#fileId = fileId(path);
      if (full !== undefined) {
        store.#full = full;
        opts.faults?.fault(
          "database",
          new Error(`cannot open the database ${path} for writing: the disk is full (${full})`),
          "monitoring goes on: events are delivered from memory and the baseline is written " +
            "once there is space",
        );
        store.#scheduleCatchUp();
      }
      if (opts.onReset && !opts.temporary) {
        store.#fileCheck = setInterval(() => store.checkFile(), FILE_CHECK_MS);
        Deno.unrefTimer(store.#fileCheck);
      }
      return store;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** Opens `path` to read only (see StoreOptions.readOnly). */
  static #openReadOnly(path: string, opts: StoreOptions): BaselineStore {
    const problems = new Set(trustProblems(dirname(path), { what: "database", dir: true }));
    for (const f of databaseFiles(path)) {
      for (const p of trustProblems(f, { what: "database" })) problems.add(p);
    }
    if (problems.size) throw new UntrustedFileError([...problems]);
    const lock = lockDatabase(path, true);
    try {
      let db: DatabaseSync | undefined;
      try {
        db = openReadOnly(path);
        db.exec("PRAGMA busy_timeout=5000;");
        const check = db.prepare("PRAGMA quick_check(1)").get() as
          | Record<string, string>
          | undefined;
        const verdict = check ? Object.values(check)[0] : "ok";
        if (verdict !== "ok") throw new Error(`database disk image is malformed (${verdict})`);
      } catch (e) {
        db?.close();
        // A rollback journal left beside it: only a first baseline is written without the
        // write-ahead log (beginBulk), and a stop during one left its last transaction to be
        // rolled back, which a reader may not do.
        if (hasHotJournal(path)) {
          throw new AgentError(
            `the first baseline in ${path} did not finish (bpfink stopped during it, and its ` +
              `last write is still to be rolled back): run "bpfink run" to take it again`,
          );
        }
        throw new AgentError(
          isCorruption(e)
            ? `the database ${path} is corrupt (${oneLine(e)}): the next "bpfink run" moves it ` +
              `aside and records a new baseline`
            : cannotOpen(path, e),
        );
      }
      const store = new BaselineStore(db, path, opts);
      store.#lock = lock;
      return store;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** Runs `read` on the database; while it is unusable (or found so now), `fallback`. */
  #read<T>(read: () => T, fallback: () => T): T {
    if (this.#broken === undefined) {
      try {
        return read();
      } catch (e) {
        if (this.#closed || !this.#lost(e)) throw e;
      }
    }
    return fallback();
  }

  /**
   * Whether `e` means the database is unusable (corrupt): then the store
   * works from memory and rebuilds the database (reported once).
   */
  #lost(e: unknown, why = oneLine(e)): boolean {
    if (this.path === ":memory:" || !this.#opts.onReset) return false;
    if (!isCorruption(e) && e !== LOST) return false;
    if (this.#broken !== undefined) return true;
    this.#broken = why;
    this.#brokenKind = e === LOST ? "gone" : "corrupt";
    this.#opts.faults?.fault(
      "database",
      new Error(`the baseline database ${this.path} is unusable: ${why}`),
      "events are delivered from memory and the database is rebuilt from the baseline in memory",
    );
    this.#scheduleCatchUp(0);
    return true;
  }

  /**
   * Checks (one stat) that the database file is still the one opened: one
   * deleted or replaced while the agent runs is written again from the open
   * one and reported as `baseline_reset`.
   */
  checkFile(): void {
    if (this.#closed || this.#broken !== undefined || !this.#fileId) return;
    const now = fileId(this.path);
    if (now !== this.#fileId) {
      this.#lost(LOST, now ? "the database file was replaced" : "the database file was deleted");
      return;
    }
    // Bytes overwritten in place: SQLite may serve its cache for a while, then fail each read.
    if (!hasSqliteHeader(this.path)) {
      this.#lost(new Error("file is not a database (its header was overwritten)"));
    }
  }

  /** The record for `path`. */
  get(path: string): BaselineRecord | undefined {
    if (this.#behind.has(path)) return this.#behind.get(path);
    const hot = this.#hot.get(path);
    if (hot) return hot;
    return this.#read(() => {
      const r = this.#sql.get.get(pathBytes(path)) as Row | undefined;
      const rec = r ? fromRow(r) : undefined;
      if (rec && isHot(rec)) this.#hot.set(path, rec);
      return rec;
    }, () => this.memory?.get(path));
  }

  /** Every recorded path. */
  paths(): string[] {
    const stored = this.#read(
      () =>
        (this.#db.prepare("SELECT path FROM baseline ORDER BY path").all() as {
          path: Uint8Array;
        }[]).map((r) => decodePathBytes(r.path)),
      () => [...new Set([...this.memory?.paths() ?? [], ...this.#hot.keys()])],
    );
    if (!this.#behind.size) return stored;
    const all = new Set(stored);
    for (const [p, rec] of this.#behind) rec ? all.add(p) : all.delete(p);
    return [...all].sort();
  }

  /** Baseline updates held in memory because the database could not be written. */
  get behind(): number {
    return this.#behind.size;
  }

  /** Why the database cannot be used now, while it cannot (it is being rebuilt). */
  get broken(): string | undefined {
    return this.#broken;
  }

  /** Number of records. */
  get size(): number {
    return this.#read(
      () => (this.#db.prepare("SELECT count(*) AS n FROM baseline").get() as { n: number }).n,
      () => this.paths().length,
    );
  }

  /**
   * Atomically applies baseline updates (`undefined` deletes the path) and
   * queues `events`; returns the outbox entries to deliver. When the database
   * cannot be written (disk full, I/O error, corrupt), the updates are kept in memory
   * (`get` sees them), retried until they are written, and the events are
   * returned with id `NOT_IN_OUTBOX` so they are still delivered, from memory.
   */
  commit(updates: [string, BaselineRecord | undefined][], events: ChangeEvent[]): OutboxEntry[] {
    const text = this.#ownerText();
    for (const [p, rec] of updates) {
      if (rec && isHot(rec)) this.#hot.set(p, kept(rec));
      else this.#hot.delete(p);
      keepText(text, p, rec);
    }
    try {
      if (this.#broken !== undefined) throw new Error(this.#broken);
      if (this.#full !== undefined) throw new Error(this.#full);
      this.checkFile();
      if (this.#broken !== undefined) throw new Error(this.#broken);
      const behind = this.#behind.size;
      const out = this.#write([...this.#behind, ...updates], events);
      if (behind) this.#caughtUp(behind);
      return out;
    } catch (e) {
      if (this.#closed) throw e;
      for (const [p, rec] of updates) this.#behind.set(p, rec && kept(rec));
      if (!this.#lost(e)) {
        this.#opts.faults?.fault(
          "database",
          new Error(`cannot write the baseline database ${this.path}: ${oneLine(e)}`),
          `events are delivered from memory; the baseline is behind by ${this.#behind.size} ` +
            `paths and catches up when the database can be written`,
        );
        this.#scheduleCatchUp();
      }
      return events.map((event) => ({ id: NOT_IN_OUTBOX, event }));
    }
  }

  #write(updates: [string, BaselineRecord | undefined][], events: ChangeEvent[]): OutboxEntry[] {
    const now = new Date().toISOString();
    const out: OutboxEntry[] = [];
    const sql = this.#sql;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      // Rows are written PUT_ROWS to a statement run, in order: a delete first writes the rows before it.
      const rows: SQLInputValue[] = [];
      const flush = () => {
        for (let i = 0; i < rows.length; i += PUT_COLUMNS) {
          sql.put.run(...rows.slice(i, i + PUT_COLUMNS));
        }
        rows.length = 0;
      };
      for (const [path, rec] of updates) {
        if (!rec) {
          flush();
          sql.del.run(pathBytes(path));
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
            ? liveBytes(rec.snapshot, path)
            : JSON.stringify(rec.snapshot),
          now,
          rec.mtimeNs === undefined ? null : String(rec.mtimeNs),
          rec.ctimeNs === undefined ? null : String(rec.ctimeNs),
          rec.type ?? null,
          rec.linkTarget ?? null,
          rec.attrs ?? null,
        );
        if (rows.length === PUT_COLUMNS * PUT_ROWS) {
          sql.putMany.run(...rows);
          rows.length = 0;
        }
      }
      flush();
      const budget = this.outbox;
      if (events.length && !budget.measured) {
        budget.measure((sql.outboxSize.get() as { n: number }).n);
      }
      let added = 0;
      for (const e of events) {
        // Past its budget an event waits in short form, or in memory only (outbox_budget.ts).
        const json = budget.form(e, added);
        if (json === undefined) {
          out.push({ id: NOT_IN_OUTBOX, event: e });
          continue;
        }
        const r = sql.enqueue.run(json);
        added += json.length;
        out.push({ id: Number(r.lastInsertRowid), event: e });
      }
      this.#db.exec("COMMIT");
      budget.added(added);
      this.#writeback?.kick();
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
    for (const o of out) this.#lastOutboxId = Math.max(this.#lastOutboxId, o.id);
    return out;
  }

  #caughtUp(n: number): void {
    this.#opts.faults?.recovered("database", `baseline caught up (${n} paths written)`);
  }

  /** Retries writing the updates held in memory (or rebuilding the database) until it works. */
  #scheduleCatchUp(ms = this.#opts.retryMs ?? 2000): void {
    if (this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#closed) return;
      if (this.#full !== undefined) {
        if (!this.#reopenForWriting()) this.#scheduleCatchUp();
        return;
      }
      if (this.#broken !== undefined) {
        try {
          this.#rebuild();
        } catch (e) {
          log("store").warn(`cannot rebuild the baseline database ${this.path}: ${oneLine(e)}`);
          this.#scheduleCatchUp();
        }
        return;
      }
      if (!this.#behind.size) return;
      const n = this.#behind.size;
      try {
        this.#write([...this.#behind], []);
        this.#caughtUp(n);
      } catch (e) {
        if (!this.#lost(e)) this.#scheduleCatchUp();
      }
    }, ms);
  }

  /**
   * Makes a new database at the path, from the open one when its file was
   * only deleted or replaced (its content is sound), else from the baseline
   * in memory; the corrupt or foreign file is moved aside. Reported once
   * (`onReset`).
   */
  #rebuild(): void {
    const reason = this.#broken!;
    const path = this.path;
    const temp = `${path}.rebuild`;
    removeStale(temp);
    let rebuiltFrom: BaselineReset["rebuiltFrom"] = "memory";
    if (this.#brokenKind === "gone" && !this.#dbClosed) {
      // The old file is gone from its name but open here, and sound: copy it whole.
      try {
        this.#db.exec(`VACUUM INTO '${temp.replaceAll("'", "''")}'`);
        rebuiltFrom = "copy";
      } catch {
        removeStale(temp);
      }
    }
    // Closed before anything takes its names: closing unlinks "<path>-wal".
    if (!this.#dbClosed) {
      this.#dbClosed = true;
      try {
        this.#db.close();
      } catch { /* its file is gone or corrupt: nothing more to keep */ }
    }
    let movedTo: string | undefined;
    if (fileId(path) !== undefined) movedTo = moveAside(path);
    removeStale(path);
    if (rebuiltFrom === "copy") Deno.renameSync(temp, path);
    prepareDatabaseFiles(path);
    const db = openChecked(path, this.#opts.temporary);
    try {
      this.#db = db;
      this.#dbClosed = false;
      this.#stopBulk();
      this.#sql = new Statements(db);
      this.outbox.forget();
      this.#dropText();
      if (rebuiltFrom === "memory") this.#fill();
      else if (this.#behind.size) this.#write([...this.#behind], []);
      for (const [k, v] of this.#metaSeen) this.setMeta(k, v);
      if (this.#lastOutboxId) {
        db.prepare(
          "INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES ('outbox', max(?, " +
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)))",
        ).run(this.#lastOutboxId);
      }
    } catch (e) {
      this.#dbClosed = true;
      db.close();
      throw e;
    }
    this.#broken = undefined;
    this.#brokenKind = undefined;
    this.#fileId = fileId(path);
    this.#relock();
    const reset: BaselineReset = { reason, movedTo, rebuiltFrom };
    this.#opts.faults?.recovered(
      "database",
      `the baseline database ${path} was rebuilt from ${
        rebuiltFrom === "copy" ? "the open database" : "the baseline in memory"
      }${movedTo ? `; the old file was moved to ${movedTo}` : ""}`,
    );
    this.#opts.onReset?.(reset);
  }

  /** Takes the lock again when its file went with the database's. */
  #relock(): void {
    const lockPath = sibling(this.path, ".lock");
    if (this.#lock && this.#lockId === fileId(lockPath)) return;
    try {
      const lock = lockDatabase(this.path);
      this.#lock?.release();
      this.#lock = lock;
      this.#lockId = fileId(lockPath);
    } catch (e) {
      log("store").warn(`cannot lock the rebuilt database ${this.path} again: ${oneLine(e)}`);
    }
  }

  /**
   * Opens the database for writing once there is space (it was read-only
   * since a start on a full disk) and writes what waited in memory; false
   * while it still cannot.
   */
  #reopenForWriting(): boolean {
    let db: DatabaseSync;
    try {
      db = openChecked(this.path, this.#opts.temporary);
    } catch {
      return false;
    }
    const old = this.#db;
    this.#db = db;
    this.#stopBulk();
    this.#sql = new Statements(db);
    try {
      for (const [k, v] of this.#metaPending) {
        if (v === undefined) db.prepare("DELETE FROM meta WHERE key = ?").run(k);
        else {
          db.prepare(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
          ).run(k, v);
        }
      }
      this.#metaPending.clear();
      const n = this.#behind.size;
      if (n) this.#write([...this.#behind], []);
      this.#full = undefined;
      this.#fileId = fileId(this.path);
      this.#opts.faults?.recovered(
        "database",
        `the database can be written again: baseline caught up (${n} paths written)`,
      );
    } catch {
      this.#db = old;
      this.#sql = new Statements(old);
      db.close();
      return false;
    }
    try {
      old.close();
    } catch { /* read-only or in memory: nothing to keep */ }
    return true;
  }

  /** Writes the baseline in memory (MemoryBaseline and the records kept here) into the database. */
  #fill(): void {
    const updates: [string, BaselineRecord | undefined][] = [];
    const seen = new Set<string>();
    for (const p of [...this.memory?.paths() ?? [], ...this.#hot.keys()]) {
      if (seen.has(p) || this.#behind.has(p)) continue;
      seen.add(p);
      const rec = this.#hot.get(p) ?? this.memory?.get(p);
      if (rec) updates.push([p, rec]);
    }
    updates.push(...this.#behind);
    for (let i = 0; i < updates.length; i += 1000) this.#write(updates.slice(i, i + 1000), []);
  }

  /**
   * A first baseline is written from now on straight into the database
   * file (a rollback journal, deleted at each commit, and no sync) where the
   * write-ahead log would take every page twice, once into the log and once
   * into the file, each log synced at its checkpoints: at 100,000 files with
   * line diffs (500 MB) the start took 3.07-3.16 s where it took 3.9-4.2 s,
   * of which endBulk()'s sync 0.26-0.29 s. Each commit also starts the
   * kernel writing what it made dirty (EarlyWriteback), so that the sync
   * finds little left: bench/baseline_run.ts's on-disk run then took
   * 2.09-2.18 s where it took 2.34-2.46 s (six runs each, alternated).
   *
   * Until endBulk(). A crash loses nothing a rollback journal keeps; a power
   * loss meanwhile may leave the file corrupt, which the next start moves
   * aside and starts afresh (reported as `baseline_reset`), as it takes an
   * unfinished first baseline again anyway. Only a database on disk that no
   * other process has open (`bpfink status` reading it, say) is switched.
   */
  beginBulk(): void {
    if (
      this.#bulk || this.#closed || this.#dbClosed || this.#opts.temporary ||
      this.#opts.readOnly || this.path === ":memory:" || this.#broken !== undefined ||
      this.#full !== undefined
    ) {
      return;
    }
    try {
      this.#db.exec("PRAGMA busy_timeout=0");
      const mode = this.#db.prepare("PRAGMA journal_mode=DELETE").get() as
        | { journal_mode: string }
        | undefined;
      if (mode?.journal_mode !== "delete") return;
      this.#db.exec("PRAGMA synchronous=OFF");
      this.#bulk = true;
      this.#writeback = EarlyWriteback.open(this.path);
    } catch {
      /* another connection has it open: the write-ahead log stays */
    } finally {
      this.#db.exec("PRAGMA busy_timeout=5000");
    }
  }

  /**
   * Back to the write-ahead log, everything written so far synced to disk
   * first (the switch is a write made with a full sync). Idempotent.
   */
  endBulk(): void {
    if (!this.#bulk) return;
    this.#stopBulk();
    try {
      this.#db.exec("PRAGMA synchronous=FULL");
      this.#db.prepare("PRAGMA journal_mode=WAL").get();
      this.#db.exec("PRAGMA synchronous=NORMAL");
    } catch (e) {
      log("store").warn(
        `cannot take the baseline database ${this.path} back to its write-ahead log: ${oneLine(e)}`,
      );
    }
  }

  /** Not in bulk mode any more (endBulk, or a database opened again). */
  #stopBulk(): void {
    this.#bulk = false;
    this.#writeback?.close();
    this.#writeback = undefined;
  }

  /**
   * Whether `path`, owned by `uid`, may keep `bytes` of text for line diffs
   * (owner_text.ts); charged when it may.
   */
  mayKeepText(uid: number, path: string, bytes: number): boolean {
    return this.#ownerText().take(uid, path, bytes);
  }

  /** Files whose text was not kept for line diffs: their owner was at user_text_max_bytes. */
  get textRefused(): number {
    return this.#textRefused + (this.#text?.refused ?? 0);
  }

  /** The text kept per owner, read from the database when first asked (a blob's length is in its row's header). */
  #ownerText(): OwnerText {
    if (this.#text) return this.#text;
    const text = new OwnerText(this.#opts.userTextMaxBytes ?? CONFIG_DEFAULTS.userTextMaxBytes);
    this.#read(() => {
      const rows = this.#db.prepare(
        "SELECT path, uid, length(snapshot) AS n FROM baseline " +
          "WHERE uid != 0 AND typeof(snapshot) = 'blob'",
      ).iterate() as IterableIterator<{ path: Uint8Array; uid: number; n: number }>;
      for (const r of rows) text.kept(decodePathBytes(r.path), r.uid, r.n);
    }, () => {});
    for (const [p, rec] of this.#behind) keepText(text, p, rec);
    this.#text = text;
    return text;
  }

  /** Forgets the text per owner (read again when next asked), keeping its count of refusals. */
  #dropText(): void {
    this.#textRefused += this.#text?.refused ?? 0;
    this.#text = undefined;
  }

  /** Marks outbox entries delivered. */
  ack(ids: number[]): void {
    ids = ids.filter((id) => id !== NOT_IN_OUTBOX);
    // Read-only for now (full disk): not acknowledged, delivered again (same event.id) next start.
    if (ids.length === 0 || this.#closed || this.#broken !== undefined || this.#full) return;
    try {
      this.#db.exec("BEGIN");
      let removed = 0;
      for (const id of ids) {
        removed += (this.#sql.ack.get(id) as { n: number } | undefined)?.n ?? 0;
      }
      this.#db.exec("COMMIT");
      this.outbox.removed(removed);
      if (this.#ackFailing) {
        this.#ackFailing = false;
        this.#opts.faults?.recovered("database", "acknowledgements are written again");
      }
    } catch (e) {
      if (this.#db.isTransaction) {
        try {
          this.#db.exec("ROLLBACK");
        } catch { /* reported below */ }
      }
      if (this.#lost(e)) return;
      this.#ackFailing = true;
      // Not acknowledged: delivered again (same event.id) on a later retry or start.
      this.#opts.faults?.fault(
        "database",
        new Error(`cannot acknowledge delivered events in ${this.path}: ${oneLine(e)}`),
        "they will be delivered again, with the same event.id",
      );
    }
  }

  /**
   * Up to `limit` outbox entries after row `afterId` and up to row `throughId`,
   * oldest first: a page of what waits to be delivered, so that no caller
   * holds the whole outbox in memory. Undefined when the database cannot be
   * read now (try again later).
   */
  outboxAfter(
    afterId: number,
    limit: number,
    throughId = Number.MAX_SAFE_INTEGER,
  ): OutboxEntry[] | undefined {
    if (this.#closed || this.#broken !== undefined) return undefined;
    let rows: { id: number; event: string }[];
    try {
      rows = this.#sql.outboxAfter.all(afterId, throughId, limit) as typeof rows;
    } catch (e) {
      log("store").warn(`cannot read the outbox of ${this.path}: ${oneLine(e)}`);
      return undefined;
    }
    for (const r of rows) this.#lastOutboxId = Math.max(this.#lastOutboxId, r.id);
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) as ChangeEvent }));
  }

  /** The newest outbox row's id now (0 for none, or when the database cannot be read). */
  outboxEnd(): number {
    if (this.#closed || this.#broken !== undefined) return 0;
    try {
      return (this.#sql.outboxEnd.get() as { id: number | null }).id ?? 0;
    } catch {
      return 0;
    }
  }

  /** Events committed but not delivered before the last stop (oldest first), all at once (a start reads them a page at a time, outboxAfter). */
  undelivered(): OutboxEntry[] {
    return this.outboxAfter(0, Number.MAX_SAFE_INTEGER) ?? [];
  }

  /** Forgets every baseline record (the key changed: every fingerprint in them is void). */
  clearBaseline(): void {
    this.#behind.clear();
    this.#hot.clear();
    this.#dropText();
    this.#db.exec("DELETE FROM baseline");
  }

  /** A value from the meta table. */
  meta(key: string): string | undefined {
    if (this.#metaPending.has(key)) return this.#metaPending.get(key);
    const v = this.#read(
      () =>
        (this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
          | { value: string }
          | undefined)
          ?.value,
      () => this.#metaSeen.get(key),
    );
    if (v !== undefined) this.#metaSeen.set(key, v);
    return v;
  }

  /** Sets a meta value. */
  setMeta(key: string, value: string): void {
    this.#metaSeen.set(key, value);
    if (this.#full !== undefined) {
      this.#metaPending.set(key, value);
      return;
    }
    this.#db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
    )
      .run(key, value);
  }

  /**
   * Takes the line diffs of events about `paths`, files now hidden from
   * others whose text an older bpfink kept (their snapshots replaced
   * already), out of the outbox and the event history, and vacuums the
   * database (forget_hidden_lines.ts). One that cannot be written now is
   * warned about; its snapshots, still text, are found again at the next start.
   */
  forgetHiddenLines(paths: ReadonlySet<string>): void {
    if (!paths.size || this.#closed || this.#dbClosed) return;
    let why = this.#broken ?? this.#full ?? (this.#behind.size ? "the baseline is behind" : "");
    if (!why) {
      try {
        forgetHiddenLines(this.#db, paths);
        return;
      } catch (e) {
        why = oneLine(e);
      }
    }
    log("store").warn(
      `cannot take the lines an older bpfink kept of ${paths.size} files others may not ` +
        `read out of the database: ${why}`,
    );
  }

  /** Removes a meta value. */
  deleteMeta(key: string): void {
    this.#metaSeen.delete(key);
    if (this.#full !== undefined) {
      this.#metaPending.set(key, undefined);
      return;
    }
    this.#db.prepare("DELETE FROM meta WHERE key = ?").run(key);
  }

  /** Closes the database (a last try to write what is behind) and releases the lock. */
  close(): void {
    if (this.#closed) return;
    this.endBulk();
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    if (this.#fileCheck !== undefined) clearInterval(this.#fileCheck);
    if (this.#broken !== undefined) {
      try {
        this.#rebuild();
      } catch (e) {
        log("store").warn(
          `the baseline database ${this.path} could not be rebuilt (${oneLine(e)}); ` +
            `the next start reports it as reset`,
        );
      }
    }
    if (this.#full !== undefined && !this.#reopenForWriting()) {
      log("store").warn(
        `the database ${this.path} could not be written before the stop (${this.#full}); ` +
          `the next start reports the ${this.#behind.size} paths that changed as changed while ` +
          `bpfink was down`,
      );
    } else if (this.#behind.size && this.#broken === undefined) {
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
    try {
      if (!this.#dbClosed) this.#db.close();
    } finally {
      this.#lock?.release();
    }
  }
}

/** The database file deleted or replaced while open (see checkFile). */
const LOST = new Error("the database file is gone");

/**
 * `rec` to keep in memory past the commit: its snapshot's bytes copied when
 * they are a view into a read's buffer, which the first baseline frees once
 * the commit returns (releaseBuffers() in read_batch.ts).
 */
function kept(rec: BaselineRecord): BaselineRecord {
  return rec.snapshot instanceof Uint8Array ? { ...rec, snapshot: rec.snapshot.slice() } : rec;
}

/** Whether `rec` is kept in memory too: a parsed or fingerprinted file's. */
function isHot(rec: BaselineRecord): boolean {
  return rec.consumer !== "generic" || !!rec.sha256?.startsWith("hmac-");
}

const SQLITE_HEADER = new TextEncoder().encode("SQLite format 3\0");

/** Whether the file at `path` starts as an SQLite database does (an empty one does too). */
function hasSqliteHeader(path: string): boolean {
  let f: Deno.FsFile | undefined;
  try {
    f = Deno.openSync(path, { read: true });
    const head = new Uint8Array(SQLITE_HEADER.length);
    const n = f.readSync(head) ?? 0;
    return n === 0 || head.every((b, i) => b === SQLITE_HEADER[i]);
  } catch {
    return true; // unreadable now: the next read of the database tells
  } finally {
    f?.close();
  }
}

/** Removes what is left of a deleted database beside its path (its WAL and shm). */
function removeStale(path: string): void {
  for (const f of [path, sibling(path, "-wal"), sibling(path, "-shm")]) {
    try {
      Deno.removeSync(f);
    } catch { /* not there */ }
  }
}

/** What a person sees when the database cannot be opened: one sentence, what to do. */
export function cannotOpen(path: string, e: unknown): string {
  const why = oneLine(e);
  const dir = dirname(path);
  if (/full|ENOSPC|No space/i.test(why) || (/disk I\/O error/i.test(why) && diskFull(dir))) {
    return `cannot open the database ${path}: the disk is full (${why}); free some space on ` +
      `the file system of ${dir}`;
  }
  if (/read-only|EROFS|readonly database/i.test(why)) {
    return `the database directory ${dir} is read-only (${why}): make it writable, or set ` +
      `database to a writable place`;
  }
  if (/unable to open database file/i.test(why)) {
    return `cannot open the database ${path}: SQLite cannot open it or make its files beside ` +
      `it in ${dir} (${why})`;
  }
  return `cannot open the database ${path}: ${why}`;
}

/**
 * Opens `path` to read only. SQLite reads a database in WAL mode through
 * its shared-memory file beside it; where that cannot be made (a read-only
 * directory) and no write-ahead log is left, the file alone is the whole
 * database and is read as immutable.
 */
function openReadOnly(path: string): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    db.prepare("SELECT count(*) FROM sqlite_master").get(); // WAL mode opens its files here
    return db;
  } catch (e) {
    db?.close();
    // A read-only directory, or a full disk: the shared-memory file cannot be made.
    if (!/unable to open|disk I\/O error/i.test(oneLine(e))) throw e;
    let wal = 0;
    try {
      wal = Deno.lstatSync(sibling(path, "-wal")).size;
    } catch { /* none */ }
    if (wal > 0) throw e;
    const uri = new URL("file:");
    uri.pathname = path;
    uri.searchParams.set("immutable", "1");
    return new DatabaseSync(uri, { readOnly: true });
  }
}

/** Whether `e`, opening `path`, came of a full disk. */
function isDiskFull(path: string, e: unknown): boolean {
  const why = oneLine(e);
  return /full|ENOSPC|No space/i.test(why) ||
    (/disk I\/O error|unable to open/i.test(why) && diskFull(dirname(path)));
}

/**
 * The database as it is, to read only (a full disk at start): the file, or
 * an empty baseline in memory when there is none yet.
 */
function openBehind(path: string): DatabaseSync {
  try {
    const db = openReadOnly(path);
    try {
      db.prepare("SELECT path FROM baseline LIMIT 1").get();
      db.prepare("SELECT id FROM outbox LIMIT 1").get();
      db.prepare("SELECT value FROM meta LIMIT 1").get();
      return db;
    } catch (e) {
      db.close();
      throw e;
    }
  } catch {
    return openChecked(":memory:", true);
  }
}

/** Whether the file system of `dir` has no room for a few pages (a probe file, removed). */
function diskFull(dir: string): boolean {
  const probe = `${dir}/.bpfink-space-probe-${Deno.pid}`;
  try {
    Deno.writeFileSync(probe, new Uint8Array(64 * 1024), { mode: 0o600 });
    return false;
  } catch (e) {
    return /ENOSPC|No space/i.test(String(e));
  } finally {
    try {
      Deno.removeSync(probe);
    } catch { /* not made */ }
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

/**
 * The page size of a temporary database (made afresh at each start): a
 * first baseline with line diffs writes the tree's text into it, and each
 * commit writes its dirty pages one pwrite each. At 100,000 files (400 MB
 * of text) the commits took 0.21 s of the main thread with 4 KiB pages,
 * 0.13 s with 16 KiB, and the start 2.19 s against 2.10 s (six runs each,
 * alternated); a persistent database keeps SQLite's 4 KiB (each small
 * commit of a running agent writes whole pages to its write-ahead log).
 */
export const TEMPORARY_PAGE_SIZE = 16384;

/** Whether a rollback journal with something in it is beside the database `path`. */
function hasHotJournal(path: string): boolean {
  try {
    return Deno.lstatSync(sibling(path, "-journal")).size > 0;
  } catch {
    return false;
  }
}

/** Opens `path` and proves it is a database SQLite can read (quick_check). */
function openChecked(path: string, temporary = false): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(
      temporary
        ? `PRAGMA page_size=${TEMPORARY_PAGE_SIZE}; ` +
          "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
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
 * entry type, link target and extended attribute columns (NULL in old rows: unknown, not compared), and paths stored as their bytes (older versions stored text, whose
 * bytes are the same for every name that is UTF-8; others were lost then).
 */
function migrate(db: DatabaseSync): void {
  const cols = new Set(
    (db.prepare("PRAGMA table_info(baseline)").all() as { name: string }[]).map((c) => c.name),
  );
  for (const c of ["mtime_ns", "ctime_ns", "type", "link_target", "attrs"]) {
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
    attrs: r.attrs ?? undefined,
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
    attrs: r.attrs,
  };
}

import { assert, assertEquals, assertThrows } from "../../test/assert.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { dirtyPages } from "../../test/dirty_pages.ts";
import { existsSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { testEvent } from "../../test/services/events.ts";
import {
  type BaselineRecord,
  BaselineStore,
  NOT_IN_OUTBOX,
  TEMPORARY_PAGE_SIZE,
} from "./baseline_store.ts";

function record(path: string, sha256: string): BaselineRecord {
  return {
    path,
    consumer: "generic",
    dev: 2049,
    ino: "1234",
    size: 4,
    mode: 0o100644,
    uid: 0,
    gid: 0,
    mtimeMs: 1_700_000_000_000,
    sha256,
    snapshot: { lines: ["a=1"] },
  };
}

Deno.test("commit() keeps records and queued events across a reopen; ack() removes what was delivered", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/state/bpfink.db`;
  const store = BaselineStore.open(db);
  const queued = store.commit([["/etc/a", record("/etc/a", "aa")]], [testEvent(1), testEvent(2)]);
  assertEquals(queued.map((q) => q.event.event.id), ["ev-1", "ev-2"]);
  assert(queued.every((q) => q.id !== NOT_IN_OUTBOX));
  store.close();

  const again = BaselineStore.open(db);
  try {
    assertEquals(again.get("/etc/a")?.sha256, "aa");
    assertEquals(again.get("/etc/a")?.snapshot, { lines: ["a=1"] });
    assertEquals(again.undelivered().map((u) => u.event.event.id), ["ev-1", "ev-2"]);
    again.ack([queued[0].id, NOT_IN_OUTBOX]);
    assertEquals(again.undelivered().map((u) => u.event.event.id), ["ev-2"]);
  } finally {
    again.close();
  }
});

Deno.test("commit() of undefined forgets a path; paths() lists the rest in order", async () => {
  await using dir = await tempDir();
  const store = BaselineStore.open(`${dir.path}/bpfink.db`);
  try {
    store.commit([["/etc/b", record("/etc/b", "b")], ["/etc/a", record("/etc/a", "a")]], []);
    assertEquals(store.paths(), ["/etc/a", "/etc/b"]);
    store.commit([["/etc/a", undefined]], []);
    assertEquals([store.paths(), store.get("/etc/a"), store.size], [["/etc/b"], undefined, 1]);
  } finally {
    store.close();
  }
});

Deno.test("one commit of many updates writes them in order: a path written twice keeps the last, a delete between writes holds", async () => {
  await using dir = await tempDir();
  const store = BaselineStore.open(`${dir.path}/bpfink.db`);
  try {
    // More than one multi-row statement's worth, with a repeat and a delete in the middle of one.
    const updates: [string, BaselineRecord | undefined][] = [];
    for (let i = 0; i < 50; i++) updates.push([`/t/${i}`, record(`/t/${i}`, `first${i}`)]);
    updates.push(["/t/3", record("/t/3", "second")]); // within the next statement's rows
    updates.push(["/t/40", undefined]);
    updates.push(["/t/40", record("/t/40", "again")]);
    updates.push(["/t/41", undefined]);
    for (let i = 50; i < 70; i++) updates.push([`/t/${i}`, record(`/t/${i}`, `first${i}`)]);
    updates.push(["/t/60", record("/t/60", "last")]);
    store.commit(updates, []);
    assertEquals(store.size, 69);
    assertEquals(store.get("/t/41"), undefined);
    const sha = (p: string) => store.get(p)?.sha256;
    assertEquals([sha("/t/3"), sha("/t/40"), sha("/t/60"), sha("/t/0"), sha("/t/69")], [
      "second",
      "again",
      "last",
      "first0",
      "first69",
    ]);
    // Sixteen rows, one statement's worth, with a path twice among them.
    const one: [string, BaselineRecord | undefined][] = [];
    for (let i = 0; i < 15; i++) one.push([`/u/${i}`, record(`/u/${i}`, `a${i}`)]);
    one.push(["/u/2", record("/u/2", "b2")]);
    store.commit(one, []);
    assertEquals([store.size, sha("/u/2"), sha("/u/14")], [84, "b2", "a14"]);
  } finally {
    store.close();
  }
});

Deno.test("open() moves a corrupt database aside, starts afresh and says why", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/bpfink.db`;
  BaselineStore.open(db).close();
  await Deno.writeFile(db, new TextEncoder().encode("this is not SQLite ".repeat(500)));
  await Deno.chmod(db, 0o600);
  const store = BaselineStore.open(db);
  try {
    assert(store.reset, "no reset reported");
    assert(/not a database|malformed|corrupt/i.test(store.reset.reason), store.reset.reason);
    assertEquals(
      new TextDecoder().decode(await Deno.readFile(store.reset.movedTo!)).slice(0, 19),
      "this is not SQLite ",
    );
    assertEquals(store.size, 0);
  } finally {
    store.close();
  }
});

Deno.test("open() refuses a second instance of the same database", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/bpfink.db`;
  const store = BaselineStore.open(db);
  try {
    assertThrows(() => BaselineStore.open(db));
  } finally {
    store.close();
  }
});

Deno.test("a temporary database is written once, without a write-ahead log; the daemon's keeps one", async () => {
  await using dir = await tempDir();
  const kept = `${dir.path}/kept/bpfink.db`;
  const temp = `${dir.path}/temp/bpfink.db`;
  const a = BaselineStore.open(kept);
  const b = BaselineStore.open(temp, { temporary: true });
  for (const s of [a, b]) s.commit([["/etc/a", record("/etc/a", "aa")]], [testEvent(1)]);
  assert(existsSync(`${kept}-wal`), "the daemon's database has no write-ahead log");
  assert(
    !existsSync(`${temp}-wal`) && !existsSync(`${temp}-journal`),
    "the temporary one has a journal on disk",
  );
  assertEquals(b.get("/etc/a")?.sha256, "aa");
  a.close();
  b.close();
  // Its pages are 16 KiB (a first baseline's text is written in a quarter of the pwrites);
  // the daemon's keep SQLite's 4 KiB. The page size is the header's bytes 16-17.
  const pageSize = async (f: string) => new DataView((await Deno.readFile(f)).buffer).getUint16(16);
  assertEquals(await pageSize(temp), TEMPORARY_PAGE_SIZE);
  assertEquals(await pageSize(kept), 4096);
});

Deno.test("a temporary database's one connection keeps its lock between transactions; the daemon's stays readable by others", async () => {
  await using dir = await tempDir();
  const kept = `${dir.path}/kept/bpfink.db`;
  const temp = `${dir.path}/temp/bpfink.db`;
  const a = BaselineStore.open(kept);
  const b = BaselineStore.open(temp, { temporary: true });
  try {
    for (const s of [a, b]) s.commit([["/etc/a", record("/etc/a", "aa")]], [testEvent(1)]);
    // What "bpfink check" or "bpfink events" does beside a running daemon.
    const reader = new DatabaseSync(kept, { readOnly: true });
    assertEquals(
      (reader.prepare("SELECT count(*) AS n FROM baseline").get() as { n: number }).n,
      1,
    );
    reader.close();
    // Nobody opens the temporary one: it takes and drops no locks, and keeps its page cache.
    const other = new DatabaseSync(temp, { readOnly: true });
    other.exec("PRAGMA busy_timeout=0");
    assertThrows(() => other.prepare("SELECT count(*) FROM baseline").get(), /locked/);
    other.close();
    b.commit([["/etc/b", record("/etc/b", "bb")]], []);
    assertEquals(b.get("/etc/b")?.sha256, "bb");
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("a text file's bytes are stored as they are and come back as bytes; a parsed snapshot as JSON", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/bpfink.db`;
  const text = new Uint8Array([0x61, 0x0a, 0xff, 0x00, 0x62]);
  const store = BaselineStore.open(db);
  store.commit([
    ["/etc/a", { ...record("/etc/a", "aa"), snapshot: text.subarray(2, 5) }],
    ["/etc/b", record("/etc/b", "bb")],
  ], []);
  store.close();
  const again = BaselineStore.open(db);
  const a = again.get("/etc/a")?.snapshot;
  assert(a instanceof Uint8Array, `stored bytes came back as ${typeof a}`);
  assertEquals([...a], [0xff, 0x00, 0x62]);
  assertEquals(again.get("/etc/b")?.snapshot, { lines: ["a=1"] });
  again.close();
});

Deno.test("a database SQLite finds malformed while running: reads fall back to the baseline in memory, commits deliver from memory, then it is rebuilt (baseline_reset)", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/bpfink.db`;
  const resets: unknown[] = [];
  const faults: string[] = [];
  const store = BaselineStore.open(db, {
    onReset: (r) => resets.push(r),
    faults: { fault: (part, e) => faults.push(`${part}: ${e}`), recovered: () => {} },
    retryMs: 50,
  });
  try {
    // More rows than SQLite's page cache holds: reads of most of them go to the file.
    const big = "x".repeat(2000);
    const n = 5000;
    const recs: [string, BaselineRecord][] = [];
    for (let i = 0; i < n; i++) {
      recs.push([`/app/f${i}`, { ...record(`/app/f${i}`, `h${i}`), snapshot: { big } }]);
    }
    for (let i = 0; i < n; i += 500) store.commit(recs.slice(i, i + 500), []);
    const hot: BaselineRecord = { ...record("/etc/passwd", "p"), consumer: "users" };
    store.commit([["/etc/passwd", hot]], []);
    store.memory = {
      paths: () => recs.map(([p]) => p),
      get: (p) => ({ ...record(p, "mem"), snapshot: undefined }),
    };
    // Every page after the header page overwritten (the header left, so only SQLite's reads tell).
    const f = await Deno.open(db, { write: true });
    const size = (await f.stat()).size;
    await f.seek(4096, Deno.SeekMode.Start);
    await f.write(crypto.getRandomValues(new Uint8Array(Math.min(65536, size - 4096))));
    for (let off = 4096 + 65536; off < size; off += 65536) {
      await f.write(crypto.getRandomValues(new Uint8Array(Math.min(65536, size - off))));
    }
    f.close();
    // Reads: no throw; what SQLite cannot read comes from memory.
    let fromMemory = 0;
    for (let i = 0; i < n; i += 97) {
      const r = store.get(`/app/f${i}`);
      assert(r, `no record for /app/f${i}`);
      if (r.sha256 === "mem") fromMemory++;
    }
    assert(fromMemory > 0, "SQLite read every page from its cache: the test proves nothing");
    assertEquals(store.get("/etc/passwd")?.consumer, "users"); // parsed files are kept in memory
    assert(store.broken, "the store did not see the database was malformed");
    const out = store.commit([["/app/f1", record("/app/f1", "new")]], [testEvent(7)]);
    assertEquals(out.map((o) => o.id), [NOT_IN_OUTBOX]);
    assertEquals(faults.length, 1, faults.join("\n"));
    // Rebuilt on its own from memory, reported once.
    for (let t = 0; t < 100 && !resets.length; t++) await new Promise((r) => setTimeout(r, 20));
    assertEquals(resets.length, 1);
    assertEquals((resets[0] as { rebuiltFrom: string }).rebuiltFrom, "memory");
    assertEquals(store.broken, undefined);
    assertEquals(store.get("/app/f1")?.sha256, "new");
    assertEquals(store.get("/etc/passwd")?.consumer, "users");
    assertEquals(store.size, n + 1);
  } finally {
    store.close();
  }
  const again = BaselineStore.open(db);
  try {
    assertEquals(again.reset, undefined);
    assertEquals(again.get("/app/f1")?.sha256, "new");
  } finally {
    again.close();
  }
});

Deno.test("a text kept in memory while the database cannot be written is a copy: freeing the read's buffer after the commit loses nothing", async () => {
  // A first baseline frees each window's file contents once its commit returns (releaseBuffers):
  // a record held back in memory must not be a view into them, or it would be written as empty.
  await using dir = await tempDir();
  const db = `${dir.path}/bpfink.db`;
  const resets: unknown[] = [];
  const store = BaselineStore.open(db, { onReset: (r) => resets.push(r), retryMs: 50 });
  try {
    store.commit([["/app/a", record("/app/a", "a")]], []);
    const f = await Deno.open(db, { write: true });
    await f.write(new Uint8Array(16)); // the header overwritten: the next commit cannot write
    f.close();
    const window = new TextEncoder().encode("other file\nkey=1\nkey=2\n");
    const text = window.subarray(11);
    store.commit([["/app/b", { ...record("/app/b", "b"), snapshot: text }]], []);
    assert(store.broken, "the commit was written: the test proves nothing");
    window.buffer.transfer(0);
    const decoder = new TextDecoder();
    assertEquals(decoder.decode(store.get("/app/b")?.snapshot as Uint8Array), "key=1\nkey=2\n");
    for (let t = 0; t < 100 && !resets.length; t++) await new Promise((r) => setTimeout(r, 20));
    assertEquals(resets.length, 1, "the database was rebuilt");
    assertEquals(decoder.decode(store.get("/app/b")?.snapshot as Uint8Array), "key=1\nkey=2\n");
  } finally {
    store.close();
  }
});

Deno.test("a first baseline's bulk is written without the write-ahead log, then the store goes back to it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bpfink.db`;
  const mode = () => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
    } finally {
      db.close();
    }
  };
  const s = BaselineStore.open(path);
  try {
    s.beginBulk();
    s.commit([["/etc/a", record("/etc/a", "aa")]], [testEvent(1)]);
    assert(!existsSync(`${path}-wal`), "the bulk went through the write-ahead log");
    assertEquals(mode(), "delete");
    s.endBulk();
    s.commit([["/etc/b", record("/etc/b", "bb")]], []);
    assert(existsSync(`${path}-wal`), "no write-ahead log after the bulk");
    assertEquals(mode(), "wal");
    assertEquals([s.get("/etc/a")?.sha256, s.get("/etc/b")?.sha256], ["aa", "bb"]);
    // A reader of another process (bpfink status) keeps it in its write-ahead log.
    const reader = new DatabaseSync(path, { readOnly: true });
    reader.prepare("SELECT count(*) FROM baseline").get();
    s.beginBulk();
    s.commit([["/etc/c", record("/etc/c", "cc")]], []);
    reader.close();
    assertEquals(mode(), "wal");
    s.beginBulk();
  } finally {
    s.close(); // ends a bulk under way
  }
  assertEquals(mode(), "wal");
  assert(!existsSync(`${path}-journal`), "a journal was left beside it");
  const again = BaselineStore.open(path);
  try {
    assertEquals(again.paths(), ["/etc/a", "/etc/b", "/etc/c"]);
  } finally {
    again.close();
  }
});

Deno.test("a first baseline's bulk goes to disk as it is written, not all at the sync that ends it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bpfink.db`;
  const s = BaselineStore.open(path);
  try {
    s.beginBulk();
    const text = { lines: Array.from({ length: 4000 }, (_, i) => `key${i}=${"v".repeat(40)}`) };
    for (let i = 0; i < 8; i++) {
      s.commit([[`/etc/f${i}`, { ...record(`/etc/f${i}`, `h${i}`), snapshot: text }]], []);
    }
    if (dirtyPages(path) === undefined) return; // no cachestat(2) before 6.5
    assert(
      await waitFor(() => dirtyPages(path) === 0, 5000),
      `${dirtyPages(path)} pages of the bulk still dirty`,
    );
  } finally {
    s.close();
  }
});

Deno.test("a reader finds a first baseline cut off in its bulk (a rollback journal left beside it) unfinished, not unreadable", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bpfink.db`;
  const s = BaselineStore.open(path);
  s.commit([["/etc/a", record("/etc/a", "aa")]], []);
  s.close();
  // A process killed in the middle of a bulk's transaction (kill -9 of bpfink run).
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { DatabaseSync } from "node:sqlite";
       const db = new DatabaseSync(${JSON.stringify(path)});
       db.exec("PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; BEGIN IMMEDIATE");
       db.exec("UPDATE baseline SET sha256 = 'bb'; DELETE FROM meta");
       db.exec("PRAGMA cache_size=0");
       Deno.kill(Deno.pid, "SIGKILL");`,
    ],
  });
  await child.output();
  assert((await Deno.stat(`${path}-journal`)).size > 0, "no journal was left to roll back");
  assertThrows(() => BaselineStore.open(path, { readOnly: true }), /did not finish/);
  // The next run rolls it back: the baseline is as it was before the cut transaction.
  const again = BaselineStore.open(path);
  try {
    assertEquals(again.get("/etc/a")?.sha256, "aa");
  } finally {
    again.close();
  }
});

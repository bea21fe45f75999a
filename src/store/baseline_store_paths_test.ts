import { DatabaseSync } from "node:sqlite";
import { assertEquals } from "../../test/assert.ts";
import { BaselineStore, stateOfRecord } from "./baseline_store.ts";
import { baselineRecord as record } from "../../test/records.ts";
import { decodePathBytes } from "../watch/path_bytes.ts";

async function withDb(fn: (db: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-store-" });
  try {
    await fn(`${dir}/db/bpfink.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("BaselineStore.commit() keeps names that are not UTF-8 apart, across a reopen", async () => {
  await withDb((path) => {
    const a = decodePathBytes(new Uint8Array([47, 116, 47, 0x61, 0xff])); // /t/a\xff
    const b = decodePathBytes(new Uint8Array([47, 116, 47, 0x61, 0xfe])); // /t/a\xfe
    let store = BaselineStore.open(path);
    store.commit([[a, record(a, { size: 1 })], [b, record(b, { size: 2 })]], []);
    store.close();
    store = BaselineStore.open(path);
    try {
      assertEquals(store.paths().length, 2);
      assertEquals(new Set(store.paths()), new Set([a, b]));
      assertEquals(store.get(a)?.size, 1);
      assertEquals(store.get(b)?.size, 2);
      assertEquals(store.get(a)?.path, a);
    } finally {
      store.close();
    }
  });
});

Deno.test("BaselineStore.get() gives back nanosecond timestamps, and the state compares by them", async () => {
  await withDb((path) => {
    let store = BaselineStore.open(path);
    const ns = 1_700_000_000_123_456_789n;
    store.commit([["/t/f", record("/t/f", { mtimeNs: ns, ctimeNs: ns + 1n })]], []);
    store.close();
    store = BaselineStore.open(path);
    try {
      const r = store.get("/t/f")!;
      assertEquals(r.mtimeNs, ns);
      assertEquals(r.ctimeNs, ns + 1n);
      assertEquals(stateOfRecord(r).ctimeNs, ns + 1n);
    } finally {
      store.close();
    }
  });
});

Deno.test("BaselineStore.open() reads a database of an older bpfink (text paths, no ns columns)", async () => {
  await withDb(async (path) => {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { mode: 0o700 });
    const old = new DatabaseSync(path);
    old.exec(
      `CREATE TABLE baseline (path TEXT PRIMARY KEY, consumer TEXT NOT NULL, dev INTEGER NOT NULL,
      ino TEXT NOT NULL, size INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL,
      gid INTEGER NOT NULL, mtime_ms INTEGER NOT NULL, ctime_ms INTEGER, nlink INTEGER, sha256 TEXT,
      snapshot TEXT, updated_at TEXT NOT NULL)`,
    );
    old.prepare(
      "INSERT INTO baseline VALUES ('/etc/pässwd', 'users', 1, '2', 3, 33188, 0, 0, 5, 6, 1, 'ab', NULL, 'x')",
    ).run();
    old.close();
    await Deno.chmod(path, 0o600);
    const store = BaselineStore.open(path);
    try {
      assertEquals(store.paths(), ["/etc/pässwd"]);
      assertEquals(store.get("/etc/pässwd")?.sha256, "ab");
      assertEquals(store.get("/etc/pässwd")?.mtimeNs, undefined);
      store.commit([["/etc/pässwd", record("/etc/pässwd", { size: 9 })]], []);
      assertEquals(store.paths(), ["/etc/pässwd"]);
      assertEquals(store.get("/etc/pässwd")?.size, 9);
    } finally {
      store.close();
    }
  });
});

/**
 * An extended attribute's value of little entropy (a PIN, a flag) cannot be
 * found from a copy of the database: its digest there is keyed by the host
 * key, not a bare sha256 anyone can compute for each guess. A database an
 * older bpfink wrote with bare digests is keyed again silently at the next
 * start, while a change made during the stop is still reported.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";

/** Sets extended attribute `name` of `path` to `value`, by python's os.setxattr. */
async function setXattr(path: string, name: string, value: string): Promise<void> {
  const r = await run([
    "python3",
    "-c",
    "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())",
    path,
    name,
    value,
  ]);
  assertEquals(r.code, 0, r.stderr);
}

/** The bare sha256 of `value`, in hex. */
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

/** Every 16-hex-character window of `value`'s bare sha256 found in `text`. */
function bareDigestsIn(text: string, value: string): string[] {
  const hex = sha256(value);
  const found: string[] = [];
  for (let i = 0; i + 16 <= hex.length; i++) {
    if (text.includes(hex.slice(i, i + 16))) found.push(hex.slice(i, i + 16));
  }
  return found;
}

/** The database files' bytes as text (the WAL too). */
async function dump(dir: string): Promise<string> {
  return (await run(["sh", "-c", `cat ${dir}/state/db.sqlite*`])).stdout;
}

type Change = { field: string; to?: unknown };
const xattrChanges = (ds: ChangeEvent[], path: string) =>
  ds.filter((e) => e.file?.path === path).flatMap((e) =>
    ((e.bpfink?.changes ?? []) as Change[]).filter((c) => c.field === "xattr").map((c) => c.to)
  );

/** Starts the daemon of `config`, lets it settle, stops it: its changes. */
async function startAndStop(config: string, during?: () => Promise<void>): Promise<ChangeEvent[]> {
  const daemon = new Daemon(config);
  try {
    await daemon.started();
    await during?.();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
  }
  return daemon.changes();
}

Deno.test("a short xattr value, set before the start or while watched, is in the database neither as itself nor as its bare sha256", async () => {
  await using d = await tempDir();
  const f = `${d.path}/app.conf`;
  await Deno.writeTextFile(f, "x=1\n");
  const pin = "PIN:3141", flag = "flag=on!";
  await setXattr(f, "user.pin", pin);
  const config = await daemonConfig(d.path, [`- path: ${f}`]);
  const changes = await startAndStop(config, () => setXattr(f, "user.flag", flag));
  assertEquals(xattrChanges(changes, f), ["user.flag added"], "the live xattr was reported");
  const db = await dump(d.path);
  assert(db.includes("xattr user.pin "), "the xattr's line is not in the database");
  assert(db.includes("xattr user.flag "), "the live xattr's line is not in the database");
  for (const value of [pin, flag]) {
    assert(!db.includes(value), `${value} is in the database`);
    assertEquals(bareDigestsIn(db, value), [], `sha256(${value}) is in the database`);
  }
});

Deno.test("a database with bare xattr digests (an older bpfink's) is keyed at the next start without a report; a change during the stop is still reported", async () => {
  await using d = await tempDir();
  const f = `${d.path}/app.conf`;
  await Deno.writeTextFile(f, "x=1\n");
  const pin = "PIN:2718";
  await setXattr(f, "user.pin", pin);
  const config = await daemonConfig(d.path, [`- path: ${f}`]);
  assertEquals(await startAndStop(config), []);
  // As an older bpfink left it: the bare sha256's first 16 hex characters, no meta value.
  const db = new DatabaseSync(`${d.path}/state/db.sqlite`);
  try {
    const bare = `xattr user.pin ${sha256(pin).slice(0, 16)}`;
    // The file's record is the one with an xattr (its path is stored as bytes).
    const rows = db.prepare("SELECT attrs FROM baseline WHERE attrs LIKE 'xattr %'").all();
    assertEquals(rows.length, 1, JSON.stringify(rows));
    assertEquals(String(rows[0].attrs).split("\n").length, 1, String(rows[0].attrs));
    db.prepare("UPDATE baseline SET attrs = ? WHERE attrs LIKE 'xattr %'").run(bare);
    db.exec("DELETE FROM meta WHERE key = 'attrs_digest'");
  } finally {
    db.close();
  }
  assert(bareDigestsIn(await dump(d.path), pin).length > 0, "the old digest was not written");
  // Made during the stop: a new xattr is reported; the old digest is not a change.
  await setXattr(f, "user.new", "1");
  const upgraded = await startAndStop(config);
  assertEquals(xattrChanges(upgraded, f), ["user.new added"]);
  assertEquals(bareDigestsIn(await dump(d.path), pin), [], "the bare digest was kept");
  // Keyed now: the next start reports nothing, and a value changed during the stop after.
  assertEquals(await startAndStop(config), []);
  await setXattr(f, "user.pin", "PIN:2719");
  assertEquals(xattrChanges(await startAndStop(config), f), ["user.pin changed"]);
});

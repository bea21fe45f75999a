/**
 * A plain file no other user may read (mode without o+r: a key, a
 * credential file, a tool's config with a password) is shown no more than
 * its permissions show: its changes are counted lines, never its lines, in
 * events, the log and the database. `diff_private: true` shows them; a
 * file anyone may read keeps its line diff. An older bpfink kept such a
 * file's text and its diffs: the next start takes them out of the database.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";

/** Every byte of the database's files, as text (latin1: any byte is a char). */
function databaseBytes(state: string): string {
  let all = "";
  for (const e of Deno.readDirSync(state)) {
    if (e.name.startsWith("db.sqlite")) {
      all += new TextDecoder("latin1").decode(Deno.readFileSync(`${state}/${e.name}`));
    }
  }
  return all;
}

/** The lines an event's diff shows added. */
function added(e: ChangeEvent): string[] | undefined {
  return (e.bpfink?.diff as { added?: string[] } | undefined)?.added;
}

Deno.test("a file others may not read: counted lines only, in events, the log and the database, also what an older bpfink kept", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/etc`);
  const app = `${x}/etc/app.conf`;
  const pub = `${x}/etc/public.conf`;
  await Deno.writeTextFile(app, "user=app\npassword=OLDSECRETvalue\n", { mode: 0o600 });
  await Deno.chmod(app, 0o640);
  await Deno.writeTextFile(pub, "a=1\n", { mode: 0o644 });
  const watch = (more: string) => `- {path: ${x}/etc, recursive: true${more}}`;
  // As an older bpfink kept it: the text, and a diff of it in the events kept.
  let d = new Daemon(await daemonConfig(x, [watch(", diff_private: true")]));
  try {
    await d.started();
    await Deno.writeTextFile(app, "apikey=OLDAPIKEYvalue\n", { append: true });
    const e = await d.expect((e) => e.file?.path === app, "the change with diff_private");
    assertEquals(added(e), ["apikey=OLDAPIKEYvalue"]);
  } finally {
    await d.stop();
  }
  const kept = databaseBytes(`${x}/state`);
  assert(kept.includes("OLDSECRETvalue") && kept.includes("OLDAPIKEYvalue"), "control: not kept");

  d = new Daemon(await daemonConfig(x, [watch("")]));
  try {
    await d.started();
    const after = databaseBytes(`${x}/state`);
    for (const s of ["OLDSECRETvalue", "OLDAPIKEYvalue"]) {
      assert(!after.includes(s), `${s} is still in the database after the start`);
    }
    // Lines changed: counted, none shown.
    await Deno.writeTextFile(app, "user=app\npassword=NEWSECRETvalue\ntoken=TOKENvalue\n");
    const e = await d.expect((e) => e.file?.path === app, "the private file's change");
    assertEquals(e.event.action, "modified");
    assertEquals(e.bpfink?.diff, undefined);
    assertEquals(e.bpfink?.secret, true);
    assertEquals(e.bpfink?.lines, { added: 2, removed: 2 });
    // A file anyone may read: its line diff.
    await Deno.writeTextFile(pub, "b=2\n", { append: true });
    const p = await d.expect((e) => e.file?.path === pub, "the public file's change");
    assertEquals(added(p), ["b=2"]);
  } finally {
    await d.stop();
  }
  const shown = JSON.stringify(d.events) + d.stderr + databaseBytes(`${x}/state`);
  for (const s of ["OLDSECRETvalue", "OLDAPIKEYvalue", "NEWSECRETvalue", "TOKENvalue"]) {
    assert(!shown.includes(s), `${s} reached an event, the log or the database`);
  }
});

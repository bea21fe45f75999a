/**
 * What the mode does not say about who may touch a file: POSIX ACLs
 * (`setfacl -m u:nobody:rw`), inode flags (`chattr +i`) and other extended
 * attributes. Each is reported by meaning, with the process that made it,
 * live and when made while bpfink was down; an xattr's value never reaches
 * an output or the database.
 */
import { assert, assertEquals } from "./assert.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { DatabaseSync } from "node:sqlite";

type Change = { field: string; from?: unknown; to?: unknown };
const changesOf = (e: ChangeEvent) => (e.bpfink?.changes ?? []) as Change[];
const toOf = (e: ChangeEvent, field: string) =>
  changesOf(e).filter((c) => c.field === field).map((c) => c.to);

async function ok(cmd: string[]): Promise<void> {
  const r = await run(cmd);
  assertEquals(r.code, 0, `${cmd.join(" ")}: ${r.stderr}`);
}

/** Sets (or, with `value` undefined, removes) extended attribute `name` of `path`. */
const XATTR_PY = "import os,sys\n" +
  "os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode()) if len(sys.argv) > 3 " +
  "else os.removexattr(sys.argv[1], sys.argv[2])";
const setXattr = (path: string, name: string, value?: string) =>
  ok(["python3", "-c", XATTR_PY, path, name, ...(value === undefined ? [] : [value])]);

/** Whether `chattr +i` works on files in `dir` (tmpfs before 6.x, overlayfs: not). */
async function chattrWorks(dir: string): Promise<boolean> {
  const probe = `${dir}/.chattr-probe`;
  await Deno.writeTextFile(probe, "");
  const r = await run(["chattr", "+i", probe]);
  if (r.code === 0) await ok(["chattr", "-i", probe]);
  await Deno.remove(probe);
  return r.code === 0;
}

/** The change at `n` (0-based) for `path`, waited for. */
async function nth(out: CaptureOutput, path: string, n: number, what: string) {
  assert(
    await waitFor(() => out.changes(path).length > n, 5000),
    `${what} not reported; got: ${out.changes(path).map((e) => e.message).join(" | ")}`,
  );
  return out.changes(path)[n];
}

Deno.test("an ACL that lets another user write a watched file is high, named as getfacl names it, with the process; taking it back is not", async () => {
  await using d = await tempDir();
  const f = `${d.path}/app.conf`;
  await Deno.writeTextFile(f, "x=1\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    await ok(["setfacl", "-m", "u:nobody:rw", f]);
    const e = await nth(out, f, 0, "setfacl -m u:nobody:rw");
    assertEquals(e.event.action, "attributes_changed");
    assertEquals(toOf(e, "acl_grants"), ["user:nobody rw-"]);
    assertEquals(e.bpfink?.severity, "high");
    assertEquals(e.process?.name, "setfacl");
    assert(e.message?.includes("ACL grants user:nobody rw-"), e.message);
    // Read only, on a file that is not secret: reported, not high.
    await ok(["setfacl", "-m", "u:nobody:r", f]);
    const narrowed = await nth(out, f, 1, "setfacl -m u:nobody:r");
    assertEquals(toOf(narrowed, "acl_grants"), []);
    assertEquals(toOf(narrowed, "acl"), [
      "user::rw-,user:nobody:r--,group::r--,mask::r--,other::r--",
    ]);
    assert(narrowed.bpfink?.severity !== "high", narrowed.message);
    await ok(["setfacl", "-b", f]);
    const removed = await nth(out, f, 2, "setfacl -b");
    assertEquals(toOf(removed, "acl"), [null]);
    assert(removed.message?.includes("ACL removed"), removed.message);
    assertEquals(removed.bpfink?.severity, "low");
  } finally {
    await agent.stop();
  }
});

Deno.test("an ACL that lets another user read a password file is high; a default ACL on a watched directory is reported", async () => {
  await using d = await tempDir();
  const shadow = `${d.path}/shadow`;
  await Deno.writeTextFile(shadow, "root:*:1::::::\n");
  await Deno.chmod(shadow, 0o640);
  const dir = `${d.path}/conf.d`;
  await Deno.mkdir(dir);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([shadow, dir]), outputs: [out] });
  try {
    await ok(["setfacl", "-m", "g:nogroup:r", shadow]);
    const e = await nth(out, shadow, 0, "setfacl -m g:nogroup:r shadow");
    assertEquals(toOf(e, "acl_grants"), ["group:nogroup r--"]);
    assertEquals(e.bpfink?.severity, "high");
    await ok(["setfacl", "-d", "-m", "u:nobody:rwx", dir]);
    const def = await nth(out, dir, 0, "setfacl -d -m u:nobody:rwx dir");
    assertEquals(toOf(def, "default_acl_grants"), ["user:nobody rwx"]);
    assertEquals(def.bpfink?.severity, "high");
  } finally {
    await agent.stop();
  }
});

Deno.test("chattr +i and -i on a watched file are reported by name, medium, with the process", async (t) => {
  // The root file system (ext4 here) keeps inode flags; tmpfs may not.
  await using d = await tempDir();
  if (!await chattrWorks(d.path)) {
    t.step({ name: `skipped: chattr +i is not supported in ${d.path}`, ignore: true, fn() {} });
    return;
  }
  const f = `${d.path}/backdoor`;
  await Deno.writeTextFile(f, "x\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    await ok(["chattr", "+i", f]);
    const e = await nth(out, f, 0, "chattr +i");
    assertEquals(toOf(e, "flags"), ["immutable"]);
    assert(e.message?.includes("immutable set"), e.message);
    assertEquals(e.bpfink?.severity, "medium");
    assertEquals(e.process?.name, "chattr");
    await ok(["chattr", "-i", f]);
    const cleared = await nth(out, f, 1, "chattr -i");
    assert(cleared.message?.includes("immutable cleared"), cleared.message);
    assertEquals(cleared.bpfink?.severity, "medium");
  } finally {
    await run(["chattr", "-i", "-a", f]);
    await agent.stop();
  }
});

Deno.test("another extended attribute is reported by name, added, changed and removed, never its value", async () => {
  await using d = await tempDir();
  const f = `${d.path}/app.conf`;
  await Deno.writeTextFile(f, "x=1\n");
  const secret = "s3cr3t-xattr-value-41f9";
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    await setXattr(f, "user.token", secret);
    const added = await nth(out, f, 0, "user.token added");
    assertEquals(toOf(added, "xattr"), ["user.token added"]);
    assertEquals(added.process?.name, "python3");
    await setXattr(f, "user.token", secret + "2");
    assertEquals(toOf(await nth(out, f, 1, "user.token changed"), "xattr"), ["user.token changed"]);
    await setXattr(f, "user.token");
    assertEquals(toOf(await nth(out, f, 2, "user.token removed"), "xattr"), ["user.token removed"]);
    assert(!JSON.stringify(out.events).includes(secret.slice(0, 8)), "an xattr value was output");
  } finally {
    await agent.stop();
  }
});

Deno.test("an ACL, inode flag and xattr set while bpfink was down are reported at the next start; the database holds no xattr value", async () => {
  await using d = await tempDir();
  const f = `${d.path}/etc/app.conf`;
  await Deno.mkdir(`${d.path}/etc`);
  await Deno.writeTextFile(f, "x=1\n");
  const flags = await chattrWorks(d.path);
  const secret = "s3cr3t-offline-value-77ac";
  const config = await daemonConfig(d.path, [`- path: ${f}`]);
  const first = new Daemon(config);
  try {
    await first.started();
    assertEquals(await first.stop(), 0);
    await ok(["setfacl", "-m", "u:nobody:rw", f]);
    await setXattr(f, "user.token", secret);
    if (flags) await ok(["chattr", "+a", f]);
    const second = new Daemon(config);
    try {
      await second.started();
      const e = await second.expect(
        (e) => e.file?.path === f && e.event.action === "attributes_changed",
        "the offline ACL",
      );
      assertEquals(e.event.reason, "offline");
      assertEquals(toOf(e, "acl_grants"), ["user:nobody rw-"]);
      assertEquals(toOf(e, "xattr"), ["user.token added"]);
      if (flags) assertEquals(toOf(e, "flags"), ["append"]);
      assertEquals(e.bpfink?.severity, "high");
    } finally {
      await second.stop();
    }
    const dump = await run(["sh", "-c", `cat ${d.path}/state/db.sqlite*`]);
    assert(!dump.stdout.includes(secret.slice(0, 8)), "an xattr value is in the database");
    assert(dump.stdout.includes("user.token"), "the xattr's name is not in the database");
  } finally {
    await run(["chattr", "-a", f]);
  }
});

Deno.test("a database of a bpfink that kept no attributes gets them at the next start, so an ACL set during the stop after is reported", async () => {
  await using d = await tempDir();
  const f = `${d.path}/app.conf`;
  await Deno.writeTextFile(f, "x=1\n");
  const config = await daemonConfig(d.path, [`- path: ${f}`]);
  const start = async (changes: (ds: ChangeEvent[]) => void) => {
    const daemon = new Daemon(config);
    await daemon.started();
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(await daemon.stop(), 0);
    changes(daemon.changes());
  };
  await start((ds) => assertEquals(ds, []));
  // As an older bpfink left it: no attributes known.
  const db = new DatabaseSync(`${d.path}/state/db.sqlite`);
  db.exec("UPDATE baseline SET attrs = NULL");
  db.close();
  await start((ds) => assertEquals(ds.map((e) => e.message), [], "nothing changed"));
  await ok(["setfacl", "-m", "u:nobody:rw", f]);
  await start((ds) => {
    const e = ds.find((e) => e.file?.path === f);
    assert(e, "the ACL set during the stop is not reported");
    assertEquals(toOf(e, "acl_grants"), ["user:nobody rw-"]);
  });
});

/**
 * Files bpfink trusts as root, planted or loosened by a local user: a
 * symlink as the database, a key file nobody wrote, a 0644 or short key.
 * `run` refuses in one sentence and `config check` reports the same.
 */
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { run, tempDir } from "../helpers.ts";
import { BaselineStore } from "../../src/store/baseline_store.ts";
import { loadOrCreateHostKey } from "../../src/store/host_key.ts";
import { UntrustedFileError } from "../../src/store/trusted_file.ts";
import { AgentError } from "../../src/agent/agent_error.ts";
import { assertNoStackTrace, runAsNobody } from "./fault_helpers.ts";

/** A temp dir others can reach, with a 1777 `shared/` in it (like /tmp, but the file's own dir). */
async function sharedDir(dir: string): Promise<string> {
  await Deno.chmod(dir, 0o755);
  const shared = `${dir}/shared`;
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o1777);
  return shared;
}

async function config(dir: string, db: string, key: string, more = ""): Promise<string> {
  await Deno.writeTextFile(`${dir}/watched.conf`, "a=1\n");
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    path,
    `watches:\n  - ${dir}/watched.conf\ndatabase: ${db}\nkey_file: ${key}\n${more}`,
  );
  return path;
}

// deno-lint-ignore no-explicit-any
function assertThrows(fn: () => unknown, type: new (...a: any[]) => Error, text: string): void {
  try {
    fn();
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${e}`);
    assertIncludes((e as Error).message, text);
    return;
  }
  throw new Error(`expected ${type.name} (${text}), nothing was thrown`);
}

Deno.test("faults: a symlink planted by nobody as the database is refused; its target keeps its mode", async () => {
  await using dir = await tempDir();
  const shared = await sharedDir(dir.path);
  const target = `${dir.path}/setuid-tool`;
  await Deno.writeTextFile(target, "#!/bin/sh\n");
  await Deno.chmod(target, 0o4755);
  const planted = await runAsNobody(["ln", "-s", target, `${shared}/bpfink.db`]);
  assertEquals(planted.code, 0, planted.out);

  // The store refuses it (the check the daemon makes when it opens the database).
  assertThrows(
    () => BaselineStore.open(`${shared}/bpfink.db`),
    UntrustedFileError,
    "symbolic link",
  );
  assertEquals((await Deno.stat(target)).mode! & 0o7777, 0o4755);

  // `run` and `config check` say the same, in one sentence each, exit 2.
  const cfg = await config(dir.path, `${shared}/bpfink.db`, `${dir.path}/state/hmac.key`);
  const check = await run(["./bpfink", "config", "check", cfg]);
  const daemon = await run(["./bpfink", "run", "--config", cfg]);
  for (const r of [check, daemon]) {
    assertEquals(r.code, 2, r.stderr);
    assertIncludes(r.stderr, `database ${shared}/bpfink.db is a symbolic link`);
    assertIncludes(r.stderr, `directory ${shared} is writable by others (mode 1777)`);
    assertNoStackTrace(r.stderr);
  }
  assertEquals((await Deno.stat(target)).mode! & 0o7777, 0o4755, "root chmodded the target");
});

Deno.test("faults: a key file owned by nobody, with content nobody chose, is refused", async () => {
  await using dir = await tempDir();
  const shared = await sharedDir(dir.path);
  const key = `${shared}/hmac.key`;
  const made = await runAsNobody([
    "sh",
    "-c",
    `printf 0123456789abcdef0123456789abcdef > ${key} && chmod 600 ${key}`,
  ]);
  assertEquals(made.code, 0, made.out);
  assertThrows(() => loadOrCreateHostKey(key), UntrustedFileError, "owned by uid 65534, not root");

  const cfg = await config(dir.path, `${dir.path}/state/bpfink.db`, key);
  const check = await run(["./bpfink", "config", "check", cfg]);
  const daemon = await run(["./bpfink", "run", "--config", cfg]);
  for (const r of [check, daemon]) {
    assertEquals(r.code, 2, r.stderr);
    assertIncludes(r.stderr, `key file ${key} is owned by uid 65534, not root`);
    assertNoStackTrace(r.stderr);
  }
});

Deno.test("faults: a key file 0644 or too short is refused with what to do", async () => {
  await using dir = await tempDir();
  const key = `${dir.path}/state/hmac.key`;
  await Deno.mkdir(`${dir.path}/state`, { mode: 0o700 });
  await Deno.writeFile(key, crypto.getRandomValues(new Uint8Array(32)), { mode: 0o644 });
  await Deno.chmod(key, 0o644);
  assertThrows(() => loadOrCreateHostKey(key), UntrustedFileError, "chmod 600 it");
  const cfg = await config(dir.path, `${dir.path}/state/bpfink.db`, key);
  const loose = await run(["./bpfink", "run", "--config", cfg]);
  assertEquals(loose.code, 2, loose.stderr);
  assertIncludes(loose.stderr, `key file ${key} is readable by group or others (mode 0644)`);
  assertNoStackTrace(loose.stderr);

  await Deno.chmod(key, 0o600);
  await Deno.writeFile(key, new Uint8Array(8));
  assertThrows(() => loadOrCreateHostKey(key), AgentError, "holds 8 bytes, not 32");
  const short = await run(["./bpfink", "run", "--config", cfg]);
  assertEquals(short.code, 1, short.stderr);
  assertIncludes(short.stderr, `bpfink: key file ${key} holds 8 bytes, not 32`);
  assertNoStackTrace(short.stderr);

  // A missing key is made 0600 in a 0700 directory; a good one is read back.
  await Deno.remove(key);
  const made = loadOrCreateHostKey(key);
  assertEquals(made.length, 32);
  assertEquals((await Deno.stat(key)).mode! & 0o777, 0o600);
  assertEquals(loadOrCreateHostKey(key), made);
});

Deno.test("config check and run reject the same configs, with the same lines", async () => {
  await using dir = await tempDir();
  const cases: [string, string][] = [
    [
      "outputs:\n  - type: syslog\n    transport: udp\n    address: localhost\n",
      `syslog address must be host:port, not "localhost"`,
    ],
    ["outputs:\n  - type: syslog\n    facility: foo\n", `facility must be one of`],
    ["metrics:\n  prometheus:\n    listen: nowhere\n", `prometheus listen must be host:port`],
  ];
  for (const [more, text] of cases) {
    const cfg = await config(dir.path, `${dir.path}/state/bpfink.db`, `${dir.path}/k`, more);
    const check = await run(["./bpfink", "config", "check", cfg]);
    const daemon = await run(["./bpfink", "run", "--config", cfg]);
    assertEquals(check.code, 2, `${more}: ${check.stderr}`);
    assertEquals(daemon.code, 2, `${more}: ${daemon.stderr}`);
    assertIncludes(check.stderr, text);
    const line = check.stderr.split("\n").find((l) => l.includes(text))!;
    assertIncludes(daemon.stderr, line);
  }
  const empty = `${dir.path}/empty.yaml`;
  await Deno.writeTextFile(empty, `watches: []\ndatabase: ${dir.path}/db\n`);
  for (const cmd of [["config", "check", empty], ["run", "--config", empty]]) {
    const r = await run(["./bpfink", ...cmd]);
    assertEquals(r.code, 2, r.stderr);
    assertIncludes(r.stderr, `${empty}:1:10: error: watches is empty`);
  }
});

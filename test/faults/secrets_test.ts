/**
 * Secrets never reach an output or the database: a sudoers rule in a file
 * marked `secret: true`, and the content hash of shadow. A replaced host
 * key is reported once as `key_changed`, never as password changes.
 */
import { assert, assertEquals } from "../assert.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { assertNoStackTrace } from "./fault_helpers.ts";

const sha256 = async (text: string) =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

Deno.test("faults: secret: true and shadow leave no content and no plain hash in any output, the DB or its WAL", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/sudoers.d`);
  const rules = `${d}/sudoers.d/extra`;
  const shadow = `${d}/shadow`;
  await Deno.writeTextFile(rules, "root ALL=(ALL) ALL\n");
  await Deno.writeTextFile(shadow, "alice:$6$salt$oldhasholdhash:19000:0:99999:7:::\n");
  const config = `${d}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${rules}\n    consumer: sudoers\n    secret: true\n  - ${shadow}\n` +
      `database: ${d}/state/bpfink.db\nkey_file: ${d}/state/hmac.key\nlog_level: info\n` +
      `strategy: tracepoint\noutputs:\n  - type: stdout\n    format: json\n` +
      `  - type: file\n    path: ${d}/out/events.json\n`,
  );
  const first = new Daemon(config);
  const marker = "SECRETMARKER7731";
  const newRules = `root ALL=(ALL) ALL\nbob ALL=(ALL) NOPASSWD: /opt/${marker}\n`;
  const newShadow = `alice:$6$salt$${marker}newhash:19001:0:99999:7:::\n`;
  let wal = new Uint8Array();
  try {
    await first.started();
    await Deno.writeTextFile(rules, newRules);
    await Deno.writeTextFile(shadow, newShadow);
    assert(
      await waitFor(
        () =>
          first.changes().some((e) => e.file?.path === rules) &&
          first.changes().some((e) => e.event.action === "password_changed"),
        5000,
      ),
      first.stderr,
    );
    wal = await Deno.readFile(`${d}/state/bpfink.db-wal`);
  } finally {
    assertEquals(await first.stop(), 0, first.stderr);
  }
  const secretRule = first.changes().find((e) => e.file?.path === rules)!;
  assertEquals(secretRule.bpfink?.secret, true);
  assertEquals(secretRule.bpfink?.lines, { added: 1, removed: 0 });
  assertEquals(first.changes().filter((e) => e.event.action.startsWith("sudoers_")), []);
  const shadowEvent = first.changes().find((e) => e.file?.path === shadow)!;
  assertEquals(shadowEvent.file?.hash, undefined);
  assert(
    String(shadowEvent.bpfink?.fingerprint).startsWith("hmac-sha256:"),
    "no keyed fingerprint",
  );

  const forbidden = [marker, await sha256(newRules), await sha256(newShadow), "oldhasholdhash"];
  const places: [string, string][] = [
    ["stdout", JSON.stringify(first.events)],
    ["stderr", first.stderr],
    ["file output", await Deno.readTextFile(`${d}/out/events.json`)],
    ["database", new TextDecoder("latin1").decode(await Deno.readFile(`${d}/state/bpfink.db`))],
    ["WAL (while running)", new TextDecoder("latin1").decode(wal)],
  ];
  assert(places[2][1].includes(secretRule.event.id), "the file output got the event");
  for (const [where, text] of places) {
    for (const f of forbidden) assert(!text.includes(f), `${where} holds a secret: ${f}`);
  }
  assertNoStackTrace(first.stderr);

  // A replaced key: one key_changed, no password_changed, no offline changes; then quiet.
  await Deno.writeFile(`${d}/state/hmac.key`, crypto.getRandomValues(new Uint8Array(32)));
  const second = new Daemon(config);
  await second.started();
  await new Promise((r) => setTimeout(r, 500));
  assertEquals(await second.stop(), 0, second.stderr);
  assertEquals(second.changes().map((e) => e.event.action), ["key_changed"]);
  const third = new Daemon(config);
  await third.started();
  await new Promise((r) => setTimeout(r, 500));
  assertEquals(await third.stop(), 0, third.stderr);
  assertEquals(third.changes().map((e) => e.event.action), []);
});

Deno.test("faults: a copy of shadow under another name and a shadow file sudoers includes leak no hash", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/etc/sudoers.d`, { recursive: true });
  const marker = "HASHMARKER5519";
  const line = (user: string, tag: string) =>
    `${user}:$y$j9T$SALT${marker}$${tag}${marker}yescryptyescrypt:20000:0:99999:7:::\n`;
  // vipw -s's working copy, and a shadow-like file a sudoers drop-in includes (the audit's).
  const copy = `${d}/etc/shadow.edit`;
  const included = `${d}/inc/shadow-like`; // outside the watch: followed as sudoers
  await Deno.mkdir(`${d}/inc`);
  await Deno.writeTextFile(copy, line("alice", "one"));
  await Deno.writeTextFile(included, line("bob", "one"));
  await Deno.writeTextFile(`${d}/etc/sudoers.d/inc`, `@include ${included}\n`);
  const config = `${d}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${d}/etc\n    recursive: true\n` +
      `database: ${d}/state/bpfink.db\nkey_file: ${d}/state/hmac.key\nlog_level: info\n` +
      `strategy: tracepoint\noutputs:\n  - type: stdout\n    format: json\n` +
      `  - type: file\n    path: ${d}/out/events.json\n`,
  );
  const daemon = new Daemon(config);
  let wal = new Uint8Array();
  try {
    await daemon.started();
    await Deno.writeTextFile(copy, line("alice", "two") + line("carol", "new"));
    await Deno.writeTextFile(included, line("bob", "two") + line("dave", "new"));
    assert(
      await waitFor(
        () =>
          daemon.changes().some((e) => e.file?.path === copy && e.bpfink?.diff) &&
          daemon.changes().some((e) => e.event.action.startsWith("sudoers_unparsed")),
        5000,
      ),
      JSON.stringify(daemon.changes().map((e) => [e.event.action, e.file?.path, e.message])) +
        daemon.stderr,
    );
    wal = await Deno.readFile(`${d}/state/bpfink.db-wal`);
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
  }
  // alice's line differs only in its hash: redacted, it is the same line.
  const diff = daemon.changes().find((e) => e.file?.path === copy && e.bpfink?.diff)!;
  assertEquals(diff.bpfink!.diff, { added: ["carol:[redacted]:20000:0:99999:7:::"], removed: [] });
  assert(
    daemon.changes().some((e) =>
      e.file?.path === included && e.event.action === "sudoers_unparsed_added" &&
      e.message?.includes("dave:[redacted]:20000")
    ),
    "the included file's lines are shown redacted",
  );
  const places: [string, string][] = [
    ["stdout", JSON.stringify(daemon.events)],
    ["stderr", daemon.stderr],
    ["file output", await Deno.readTextFile(`${d}/out/events.json`)],
    ["database", new TextDecoder("latin1").decode(await Deno.readFile(`${d}/state/bpfink.db`))],
    ["WAL (while running)", new TextDecoder("latin1").decode(wal)],
  ];
  for (const [where, text] of places) assert(!text.includes(marker), `${where} holds a hash`);
  assertNoStackTrace(daemon.stderr);
});

/**
 * A file that is not text (a real binary copied where a consumer reads by
 * meaning) gives one not-text event, whichever consumer reads it; a grant
 * hidden in the blob is still itemized; no consumer's diff goes past the
 * per-change bound.
 */
import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { fileChange as change } from "../../test/records.ts";
import type { ChangeEvent } from "./change_event.ts";
import { BaselineStore } from "../store/baseline_store.ts";
import { readFileState } from "../watch/file_state.ts";
import { ChangePipeline, MAX_PARSE_BYTES } from "./change_pipeline.ts";
import { consumerContext } from "../consumers/consumer_context.ts";
import { consumerNameFor } from "../consumers/registry.ts";
import { MAX_ITEMIZED_CHANGES } from "../consumers/semantic_change.ts";
import { NOT_TEXT_ITEMIZED } from "../consumers/bounded_changes.ts";
import { MAX_TEXT_CHARS } from "../consumers/parse_result.ts";

/** A pipeline that picks each path's consumer by its name, as a watch without `consumer` does. */
function pipeline() {
  const store = BaselineStore.open(":memory:");
  const delivered: ChangeEvent[][] = [];
  const p = new ChangePipeline({
    store,
    hostname: "testhost",
    ctx: consumerContext(new Uint8Array(32).fill(3), () => {}),
    ruleFor: (path) => ({
      consumer: consumerNameFor(path),
      secret: false,
      diffMaxBytes: 65536,
      byName: true,
    }),
    deliver: (events) => delivered.push(events),
  });
  return { p, delivered, [Symbol.dispose]: () => store.close() };
}

/** The semantic events of creating `path` with `content`. */
async function created(path: string, content: Uint8Array): Promise<ChangeEvent[]> {
  using t = pipeline();
  await Deno.writeFile(path, content);
  t.p.handle(change(path, "created", undefined, await readFileState(path, MAX_PARSE_BYTES)));
  return t.delivered[0].filter((e) => e.event.dataset !== "bpfink.file");
}

/** The `bpfink.changes` field `field` of `e`. */
function changeField(e: ChangeEvent, field: string): unknown {
  const changes = e.bpfink?.changes as { field: string; to?: unknown }[] | undefined;
  return changes?.find((c) => c.field === field)?.to;
}

/** Where each by-meaning consumer reads, under `dir`. */
const PLACES = [
  "sudoers.d/blob",
  "sudoers",
  "cron.d/blob",
  "crontab",
  "sshd_config.d/blob.conf",
  "sshd_config",
  "pam.d/blob",
  ".ssh/authorized_keys",
  "ld.so.preload",
  "passwd",
  "shadow",
  "group",
  "gshadow",
  "access.conf",
];

const bytes = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
  return out;
};

Deno.test("a real binary (/bin/true, /usr/bin/ls) where any consumer reads by meaning gives one not-text event", async () => {
  await using dir = await tempDir();
  for (const d of ["sudoers.d", "cron.d", "sshd_config.d", "pam.d", ".ssh"]) {
    await Deno.mkdir(`${dir.path}/${d}`);
  }
  for (const binary of ["/bin/true", "/usr/bin/ls"]) {
    const content = await Deno.readFile(binary);
    for (const place of PLACES) {
      const path = `${dir.path}/${place}`;
      const consumer = consumerNameFor(path);
      assert(consumer !== "generic", place);
      const events = await created(path, content);
      const what = `${binary} ${place}: ${events.map((e) => e.event.action)}`;
      assertEquals(events[0].event.action, `${consumer}_not_text`, what);
      assert(events[0].message?.includes("not text"), events[0].message);
      // Only what is critical is itemized besides, and bounded.
      assert(events.length <= 1 + NOT_TEXT_ITEMIZED, what);
      for (const e of events.slice(1)) assertEquals(e.bpfink?.severity, "critical", what);
      // The ELF of /bin/true holds no line that reads as meaning, but for the loader, which
      // preloads its first C string and its last word (as rtld.c reads ld.so.preload).
      if (binary === "/bin/true" && place !== "ld.so.preload") assertEquals(events.length, 1, what);
      await Deno.remove(path);
    }
  }
});

Deno.test("a sudoers.d binary: high, says what sudo does, counts every line; a grant hidden in it is itemized and critical", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/sudoers.d`);
  const path = `${dir.path}/sudoers.d/blob`;
  const elf = await Deno.readFile("/bin/true");
  const [plain] = await created(path, elf);
  assertEquals(plain.bpfink?.severity, "high");
  assert(plain.message?.includes("visudo -c rejects it"), plain.message);
  const unparsed = changeField(plain, "not_itemized.sudoers_unparsed_added");
  assert(Number(unparsed) > 50, JSON.stringify(plain.bpfink?.changes));
  // sudo applies the line: it must not hide in the count.
  const events = await created(path, concat(elf, bytes("\nmallory ALL=(ALL) NOPASSWD: ALL\n")));
  assertEquals(events.map((e) => e.event.action), ["sudoers_not_text", "sudoers_rule_added"]);
  assertEquals(events.map((e) => e.bpfink?.severity), ["high", "critical"]);
  assertEquals(events[1].message, "sudo rule added: mallory ALL=(ALL) NOPASSWD: ALL");
  // A passwd: a uid-0 account in a blob is one glibc returns.
  const passwd = `${dir.path}/passwd`;
  const users = await created(passwd, concat(elf, bytes("\nevil:x:0:0::/:/bin/sh\n")));
  assert(users.some((e) => e.event.action === "user_added" && e.user?.target?.name === "evil"));
  assertEquals(users[0].event.action, "users_not_text");
});

Deno.test("a binary in sudoers.d removed, or replaced by text, is one not-text event too, not one per line it had", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/sudoers.d`);
  const path = `${dir.path}/sudoers.d/blob`;
  using t = pipeline();
  await Deno.copyFile("/bin/true", path);
  const elf = (await readFileState(path, MAX_PARSE_BYTES))!;
  t.p.adopt(path, elf);
  await Deno.writeTextFile(path, "bob ALL=(ALL) ALL\n");
  const text = (await readFileState(path, MAX_PARSE_BYTES))!;
  t.p.handle(change(path, "modified", elf, text));
  await Deno.copyFile("/bin/true", path);
  const again = (await readFileState(path, MAX_PARSE_BYTES))!;
  t.p.handle(change(path, "modified", text, again));
  await Deno.remove(path);
  t.p.handle(change(path, "deleted", again, undefined));
  const semantic = t.delivered.map((d) =>
    d.filter((e) => e.event.dataset !== "bpfink.file").map((e) => e.event.action)
  );
  assertEquals(semantic, [
    // The blob gone, and the text's own rule, itemized as any text file's.
    ["sudoers_not_text", "sudoers_rule_added"],
    // Text to blob: the rule removed is counted with the blob's lines.
    ["sudoers_not_text"],
    ["sudoers_not_text"],
  ]);
  const [gone, rule] = t.delivered[0].filter((e) => e.event.dataset !== "bpfink.file");
  assert(gone.message?.includes("was not text"), gone.message);
  assert(Number(changeField(gone, "not_itemized.sudoers_unparsed_removed")) > 50);
  assertEquals(rule.message, "sudo rule added: bob ALL=(ALL) ALL");
  const [came] = t.delivered[1].filter((e) => e.event.dataset !== "bpfink.file");
  assertEquals(changeField(came, "not_itemized.sudoers_rule_removed"), 1);
  const [removed] = t.delivered[2].filter((e) => e.event.dataset !== "bpfink.file");
  assert(removed.message?.includes("was not text"), removed.message);
});

Deno.test("every consumer's diff is bounded by the pipeline: 5,000 accounts added at once give 1,000 events and a count", async () => {
  await using dir = await tempDir();
  const lines = Array.from(
    { length: 5000 },
    (_, i) => `u${i}:x:${2000 + i}:${2000 + i}::/:/bin/sh`,
  );
  const events = await created(`${dir.path}/passwd`, bytes(lines.join("\n") + "\n"));
  assertEquals(events.length, MAX_ITEMIZED_CHANGES + 1);
  const summary = events.at(-1)!;
  assertEquals(summary.event.action, "users_changes_not_itemized");
  assertEquals(changeField(summary, "not_itemized"), 4000);
});

Deno.test("a sudoers padded to 5 MiB (inside the read limit) is parsed whole: the NOPASSWD rule at its end is reported", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/sudoers.d`);
  const path = `${dir.path}/sudoers.d/padded`;
  const pad = `#${"x".repeat(1022)}\n`.repeat(5 * 1024);
  const events = await created(path, bytes(`${pad}mallory ALL=(ALL) NOPASSWD: ALL\n`));
  assertEquals(events.map((e) => [e.event.action, e.bpfink?.severity]), [
    ["sudoers_rule_added", "critical"],
  ]);
  // No parser reads less than the pipeline hands it.
  assert(MAX_TEXT_CHARS >= MAX_PARSE_BYTES);
});

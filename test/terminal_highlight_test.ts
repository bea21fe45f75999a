/**
 * Terminal highlights from real consumer output: a new uid-0 account, a
 * NOPASSWD rule and any new sudo rule stand out; `uid=` is the actor's.
 */
import { assert, assertEquals, assertIncludes } from "./assert.ts";
import { semanticEvent } from "../src/pipeline/change_pipeline.ts";
import { consumerContext } from "../src/consumers/consumer_context.ts";
import { semanticConsumer } from "../src/consumers/registry.ts";
import type { ConsumerName } from "../src/config/config_types.ts";
import type { FileChange } from "../src/pipeline/file_change.ts";
import { formatLine } from "../src/outputs/terminal.ts";

const ctx = consumerContext(new Uint8Array(32), () => {});

function lines(
  consumer: ConsumerName,
  path: string,
  before: string,
  after: string,
  color: boolean,
) {
  const c = semanticConsumer(consumer)!;
  const cause = {
    tgid: 77,
    pid: 77,
    ppid: 1,
    comm: "visudo",
    exe: "visudo",
    uid: 1000,
    euid: 0,
    cgroupId: 1n,
  } as unknown as FileChange["cause"];
  const change: FileChange = {
    action: "modified",
    path,
    kind: "file",
    root: path,
    folded: 1,
    reason: "live",
    cause,
  };
  return c.diff(path, c.snapshot(path, before, ctx), c.snapshot(path, after, ctx), ctx)
    .map((s) => formatLine(semanticEvent(s, change, consumer, "h"), color));
}

Deno.test("terminal: uid 0 accounts, NOPASSWD and new sudo rules are highlighted; uid= is the actor", () => {
  const users = lines(
    "users",
    "/etc/passwd",
    "root:x:0:0::/root:/bin/sh\n",
    "root:x:0:0::/root:/bin/sh\nmallory:x:0:0::/:/bin/sh\nalice:x:1500:100::/h:/bin/sh\n",
    false,
  );
  const mallory = users.find((l) => l.includes("mallory"))!;
  assertIncludes(mallory, "[UID 0]");
  assertIncludes(mallory, "uid=1000"); // the actor (visudo run by uid 1000), not the new account
  assert(!users.find((l) => l.includes("alice"))!.includes("[UID 0]"));

  const sudo = lines(
    "sudoers",
    "/etc/sudoers",
    "root ALL=(ALL) ALL\n",
    "root ALL=(ALL) ALL\nbob ALL=(ALL) NOPASSWD: ALL\neve ALL=(ALL) /usr/bin/apt\n",
    false,
  );
  assertIncludes(sudo.find((l) => l.includes("bob"))!, "[NOPASSWD]");
  assertIncludes(sudo.find((l) => l.includes("eve"))!, "[NEW SUDO RULE]");

  const colored = lines("sudoers", "/etc/sudoers", "", "bob ALL=(ALL) NOPASSWD: ALL\n", true);
  assertIncludes(colored[0], "\x1b[1;41;97m NOPASSWD \x1b[0m");
  const removed = lines("sudoers", "/etc/sudoers", "bob ALL=(ALL) NOPASSWD: ALL\n", "", false);
  assertEquals(
    removed.some((l) => /\[(NOPASSWD|NEW SUDO RULE|UID 0)\]/.test(l)),
    false,
    removed.join("\n"),
  );
});

Deno.test("terminal: Defaults that drop the password and an alias a NOPASSWD rule uses are highlighted", () => {
  const base = "User_Alias ADMINS = alice\nADMINS ALL=(ALL) NOPASSWD: ALL\n";
  const def = lines("sudoers", "/etc/sudoers", base, base + "Defaults !authenticate\n", false);
  assertIncludes(def[0], "[!authenticate]");
  const alias = lines(
    "sudoers",
    "/etc/sudoers",
    base,
    base.replace("= alice", "= alice, eve"),
    false,
  );
  assertIncludes(alias[0], "[NOPASSWD]");
});

import { assert, assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { parseAuthorizedKeys } from "./authorized_keys.ts";
import { diffSshKeys } from "./ssh_keys_diff.ts";
import { keyAccount, sshKeysConsumer } from "./ssh_keys_consumer.ts";
import type { ConsumerContext } from "../consumer.ts";

const ED = "AAAAC3NzaC1lZDI1NTE5AAAAICBsmtYkGqkfc41Jqq2xg8XSP5fQuFp9XCtzdbQGMwN4";
const ED_FP = "SHA256:ox2kajwUGb0vsbm/Fz33+9X22GFgAQ4iJWGvtvBW4VA";
const EC =
  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBE+C0UWCsTh6WAAtduUbX/sYwWKVVyXyLw1hbWZnI68kRYxD6F2buTP/KT7XMa6bektv6a4KU+B/Ab/Uwon3zoQ=";
const ROOT = { name: "root", uid: 0 };
const BOB = { name: "bob", uid: 1001 };

const diff = (a: string, b: string, account?: { name: string; uid: number }) =>
  diffSshKeys(
    parseAuthorizedKeys(a).entries,
    parseAuthorizedKeys(b).entries,
    "/root/.ssh/authorized_keys",
    account,
  );

Deno.test("ssh keys: a key added is a way in, critical for a uid-0 account", () => {
  const before = `ecdsa-sha2-nistp256 ${EC} admin\n`;
  const out = diff(before, `${before}ssh-ed25519 ${ED} evil@\x1b[2Jhost\n`, ROOT);
  assertEquals(out.length, 1);
  assertEquals(out[0].action, "ssh_key_added");
  assertEquals(
    out[0].message,
    `ssh key added for root: ssh-ed25519 ${ED_FP} "evil@\\x1b[2Jhost"`,
  );
  assertEquals(out[0].source, { file: "/root/.ssh/authorized_keys", line: 2 });
  assertEquals(out[0].fields, { user: { name: "root", id: "0" } });
  assertEquals(changeSeverity(out[0]), "critical");
  assertEquals(changeSeverity(diff(before, `${before}ssh-ed25519 ${ED}\n`, BOB)[0]), "high");
  assertEquals(changeSeverity(diff(before, `${before}ssh-ed25519 ${ED}\n`)[0]), "high");
  // Removed: medium. Moved, or its comment changed: nothing.
  const removed = diff(before, "", ROOT);
  assertEquals([removed[0].action, changeSeverity(removed[0])], ["ssh_key_removed", "medium"]);
  const two = `ssh-ed25519 ${ED} a\n${before}`;
  assertEquals(diff(two, `${before}ssh-ed25519 ${ED} renamed\n`, ROOT), []);
});

Deno.test("ssh keys: options narrowed or widened, and a second line for the same key", () => {
  const restricted = `from="10.0.0.1",command="/usr/bin/backup" ssh-ed25519 ${ED} backup\n`;
  // A restriction taken away is a way in.
  const widened = diff(restricted, `from="10.0.0.1" ssh-ed25519 ${ED} backup\n`, ROOT);
  assertEquals(widened.map((c) => c.action), ["ssh_key_options_changed"]);
  assertEquals(widened[0].changes, [
    { field: "options", from: 'from="10.0.0.1",command="/usr/bin/backup"', to: 'from="10.0.0.1"' },
    { field: "widens", to: ["command removed"] },
  ]);
  assertEquals(changeSeverity(widened[0]), "critical");
  const ca = diff(`ssh-ed25519 ${ED}\n`, `cert-authority ssh-ed25519 ${ED}\n`, BOB);
  assertEquals(ca[0].changes?.at(-1), { field: "widens", to: ["cert-authority added"] });
  assertEquals(changeSeverity(ca[0]), "high");
  // Narrowed: medium.
  const narrowed = diff(`ssh-ed25519 ${ED}\n`, `restrict ssh-ed25519 ${ED}\n`, ROOT);
  assertEquals(changeSeverity(narrowed[0]), "medium");
  // sshd tries every line holding the offered key: an unrestricted copy is a way in.
  const again = diff(restricted, `${restricted}ssh-ed25519 ${ED} backup\n`, ROOT);
  assertEquals(again.map((c) => c.action), ["ssh_key_added"]);
  assert(again[0].message.endsWith("(another line for a key already there)"), again[0].message);
  assertEquals(changeSeverity(again[0]), "critical");
});

Deno.test("ssh keys: past 1,000 changes the rest are counted, at the most severe level among them", () => {
  const decoys = Array.from(
    { length: 1500 },
    (_, i) => `from="10.0.${i >> 8}.${i & 255}" ssh-ed25519 ${ED}`,
  )
    .join("\n");
  const out = diff("", `${decoys}\nssh-ed25519 ${ED} the one\n`, ROOT);
  assertEquals(out.length, 1001);
  assertEquals(out.at(-1)?.action, "ssh_keys_changes_not_itemized");
  assertEquals(changeSeverity(out.at(-1)!), "critical");
  // Narrowing decoys do not push a way in out of the itemized list.
  const narrowed = decoys.replaceAll('from="', 'restrict,from="');
  const mixed = diff(
    decoys,
    `${narrowed}\ncommand="x" ssh-ed25519 ${ED} k\n`,
    ROOT,
  );
  assertEquals(mixed[0].action, "ssh_key_added");
});

const passwd = [
  "root:x:0:0:root:/root:/bin/bash",
  "toor:x:0:0::/root:/bin/sh",
  "bob:x:1001:1001::/home/bob:/bin/sh",
  "bobby:x:1002:1002::/home/bob/by:/bin/sh",
  "svc:x:1003:1003::/:/bin/sh",
  "alice:x:1004:1004::/home/alice/:/bin/sh",
].join("\n");

Deno.test("ssh keys: the account is the one whose home holds the file, else the one it is named after", () => {
  assertEquals(keyAccount("/root/.ssh/authorized_keys", passwd)?.name, "root");
  assertEquals(keyAccount("/home/bob/.ssh/authorized_keys", passwd)?.name, "bob");
  assertEquals(keyAccount("/home/bob/by/.ssh/authorized_keys", passwd)?.name, "bobby");
  assertEquals(keyAccount("/home/alice/.ssh/authorized_keys2", passwd)?.name, "alice");
  assertEquals(keyAccount("/home/bobcat/.ssh/authorized_keys", passwd), undefined);
  // A home of "/" holds everything: it names no file's account.
  assertEquals(keyAccount("/srv/.ssh/authorized_keys", passwd), undefined);
  // AuthorizedKeysFile /etc/ssh/keys/%u
  assertEquals(keyAccount("/etc/ssh/keys/bob", passwd)?.uid, 1001);
  assertEquals(keyAccount("/x", undefined), undefined);
});

Deno.test("ssh keys: a user's own key file is read by meaning only where sshd reads it", () => {
  const ctx = {
    readFile: (p: string) => p === "/etc/passwd" ? passwd : undefined,
  } as ConsumerContext;
  const reads = (path: string, uid: number) => sshKeysConsumer.readsByName!(path, uid, ctx);
  assert(reads("/home/bob/.ssh/authorized_keys", 1001));
  assert(reads("/home/bob/.ssh/authorized_keys2", 1001));
  assert(reads("/home/alice/.ssh/authorized_keys", 1004));
  // Not bob's own, or not where sshd looks.
  assert(!reads("/home/bob/.ssh/authorized_keys", 1002));
  assert(!reads("/home/bob/x/.ssh/authorized_keys", 1001));
  assert(!reads("/home/bob/authorized_keys", 1001));
  assert(!reads("/srv/.ssh/authorized_keys", 1003));
});

import { assert, assertEquals } from "../../../test/assert.ts";
import { parseGroup } from "./group.ts";
import { parseGshadow } from "./gshadow.ts";
import { hmacFingerprint } from "../users/shadow.ts";
import { diffGroup, diffGroups, diffGshadow } from "./groups_diff.ts";
import type { SemanticChange } from "../semantic_change.ts";

const fp = hmacFingerprint(new TextEncoder().encode("k"));
const group = (t: string) => parseGroup(t).entries;
const gshadow = (t: string) => parseGshadow(t, fp).entries;
const actions = (cs: SemanticChange[]) => cs.map((c) => c.action);
const HASH = "$6$grpsalt$Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk1Ll2Mm3Nn4Oo5Pp6";

Deno.test("reports a group added, with its gid and members", () => {
  const out = diffGroup(
    group("root:x:0:\n"),
    group("root:x:0:\nwheel:x:10:alice,bob\n"),
    "/etc/group",
  );
  assertEquals(actions(out), ["group_added"]);
  assertEquals(out[0].message, "group wheel added with gid 10 with members alice, bob");
  assertEquals(out[0].fields, { group: { name: "wheel", id: "10" } });
  assertEquals(out[0].source, { file: "/etc/group", line: 2 });
});

Deno.test("reports a group removed and a gid changed", () => {
  const out = diffGroup(group("a:x:5:\nb:x:6:\n"), group("a:x:0:\n"), "/etc/group");
  assertEquals(actions(out), ["group_modified", "group_removed"]);
  assertEquals(out[0].changes, [{ field: "gid", from: 5, to: 0 }]);
  assertEquals(out[1].message, "group b removed (gid 6)");
});

Deno.test("reports members added to and removed from a group", () => {
  const out = diffGroup(group("sudo:x:27:alice,bob\n"), group("sudo:x:27:bob,eve\n"), "/etc/group");
  assertEquals(actions(out), ["group_member_added", "group_member_removed"]);
  assertEquals(out[0].message, "eve added to group sudo");
  assertEquals(out[0].fields, { group: { name: "sudo", id: "27" }, user: { name: "eve" } });
  assertEquals(out[1].message, "alice removed from group sudo");
});

Deno.test("reports group administrators and group passwords from gshadow", () => {
  const out = diffGshadow(
    gshadow("sudo:!::alice\n"),
    gshadow(`sudo:${HASH}:mallory:alice\n`),
    "/etc/gshadow",
  );
  assertEquals(actions(out), ["group_admin_added", "group_password_changed"]);
  assertEquals(out[0].message, "mallory added to group sudo as administrator");
  assertEquals(out[1].changes, [{ field: "password", from: "disabled", to: "set" }]);
  const text = JSON.stringify(out);
  assert(!text.includes(HASH.slice(10, 18)) && !text.includes(fp(HASH)), text);
});

Deno.test("a new group with groupadd's `!` is no password event", () => {
  assertEquals(actions(diffGshadow([], gshadow("devs:!::\n"), "/etc/gshadow")), []);
});

Deno.test("diffGroups fills the gid into gshadow events", () => {
  const before = { group: group("sudo:x:27:\n"), gshadow: gshadow("sudo:!::\n") };
  const after = { group: group("sudo:x:27:\n"), gshadow: gshadow("sudo:!:eve:\n") };
  const out = diffGroups(before, after);
  assertEquals(actions(out), ["group_admin_added"]);
  assertEquals(out[0].fields, { group: { name: "sudo", id: "27" }, user: { name: "eve" } });
});

Deno.test("a group or member named after one of Object's own members is reported like any other", () => {
  for (const name of ["__proto__", "constructor", "toString"]) {
    assertEquals(
      actions(diffGroup(group("root:x:0:\n"), group(`root:x:0:\n${name}:x:0:\n`), "/etc/group")),
      ["group_added"],
      name,
    );
    const joined = diffGroup(group("root:x:0:\n"), group(`root:x:0:${name}\n`), "/etc/group");
    assertEquals(actions(joined), ["group_member_added"], name);
  }
});

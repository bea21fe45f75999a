import { assert, assertEquals } from "../../../test/assert.ts";
import { parseGroupFile } from "./group_file.ts";
import { parseGroup } from "./group.ts";
import { parseGshadow } from "./gshadow.ts";
import { hmacFingerprint } from "../users/shadow.ts";
import { diffGroup, diffGroups, diffGshadow } from "./groups_diff.ts";
import type { SemanticChange } from "../semantic_change.ts";

const fp = hmacFingerprint(new TextEncoder().encode("k"));
const group = (t: string) => parseGroupFile(t).entries;
const gshadow = (t: string) => parseGshadow(t, fp).entries;
const actions = (cs: SemanticChange[]) => cs.map((c) => c.action);
const HASH = "$6$grpsalt$Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk1Ll2Mm3Nn4Oo5Pp6";

Deno.test("reports a group added, with its gid and members", () => {
  const out = diffGroup(
    group("root:x:0:\n"),
    group("root:x:0:\nwheel:x:10:alice,bob\n"),
    "/etc/group",
  );
  assertEquals(actions(out), ["group_added", "group_gid_gained", "group_gid_gained"]);
  assertEquals(out[0].message, "group wheel added with gid 10 with members alice, bob");
  assertEquals(
    out[1].message,
    "alice gains gid 10 (wheel, privileged) through group wheel at line 2",
  );
  assertEquals(out[1].severity, "critical");
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

/** The events of a diff as [action, severity, message]. */
const told = (cs: SemanticChange[]) => cs.map((c) => [c.action, c.severity, c.message]);
const BASE = "root:x:0:\nsudo:x:27:\nusers:x:100:\n";

Deno.test("joining gid 27 through a duplicate sudo line or an alias is a critical gid gain", () => {
  // The audit's case: glibc gives both gid 27 (`id trudy`: 27(sudo)).
  const out = diffGroup(
    group(BASE),
    group(BASE + "sudo:x:27:mallory\nwheel2:x:27:trudy\n"),
    "/etc/group",
  );
  assertEquals(told(out), [
    [
      "group_added",
      undefined,
      "group sudo added again (a duplicate entry) with gid 27 with members mallory",
    ],
    ["group_added", undefined, "group wheel2 added with gid 27 with members trudy"],
    [
      "group_gid_gained",
      "critical",
      "mallory gains gid 27 (sudo, privileged) through group sudo at line 4",
    ],
    [
      "group_gid_gained",
      "critical",
      "trudy gains gid 27 (sudo, privileged) through group wheel2 at line 5",
    ],
  ]);
  assertEquals(out[3].fields, { group: { name: "sudo", id: "27" }, user: { name: "trudy" } });
  assertEquals(out[3].source, { file: "/etc/group", line: 5 });
  assertEquals(out[3].changes, [{ field: "gids", to: 27 }]);
});

Deno.test("a `+` line with an empty gid gives its members gid 0: critical", () => {
  const out = diffGroup(group(BASE), group(BASE + "+e:x::trudy\n"), "/etc/group");
  assertEquals(told(out).slice(1), [
    [
      "group_gid_gained",
      "critical",
      "trudy gains gid 0 (root, privileged) through group +e at line 4",
    ],
  ]);
});

Deno.test("a second sudo line with a new gid makes that gid sudo's name: critical", () => {
  const out = diffGroup(group(BASE), group(BASE + "sudo:x:1001:zed\n"), "/etc/group");
  assertEquals(told(out).slice(1), [
    [
      "group_gid_gained",
      "critical",
      "zed gains gid 1001 (sudo, privileged) through group sudo at line 4",
    ],
  ]);
});

Deno.test("a member added to an alias of gid 27 is critical, and the gain names sudo", () => {
  const out = diffGroup(
    group(BASE + "wheel2:x:27:\n"),
    group(BASE + "wheel2:x:27:trudy\n"),
    "/etc/group",
  );
  assertEquals(told(out), [
    ["group_member_added", "critical", "trudy added to group wheel2"],
    [
      "group_gid_gained",
      "critical",
      "trudy gains gid 27 (sudo, privileged) through group wheel2 at line 4",
    ],
  ]);
});

Deno.test("a member added to the line that names the gid is one event; other gids are high", () => {
  assertEquals(told(diffGroup(group(BASE), group(BASE.replace("27:", "27:alice")), "/etc/group")), [
    ["group_member_added", "critical", "alice added to group sudo"],
  ]);
  assertEquals(
    told(diffGroup(group(BASE + "devs:x:2500:\n"), group(BASE + "devs:x:2500:bob\n"), "x")),
    [["group_member_added", "high", "bob added to group devs"]],
  );
  // Already holding gid 27 through the sudo line: the alias gives nothing new.
  const held = BASE.replace("27:", "27:alice") + "wheel2:x:27:\n";
  assertEquals(
    actions(diffGroup(group(held), group(held.replace("27:\n", "27:alice\n")), "x")),
    ["group_member_added"],
  );
});

Deno.test("a user whose gid becomes privileged gains it", () => {
  const tail = "devs:x:1001:zed\n";
  const out = diffGroup(group(BASE + tail), group("sudo:x:1001:\n" + BASE + tail), "/etc/group");
  assertEquals(told(out).filter(([a]) => a === "group_gid_gained"), [
    [
      "group_gid_gained",
      "critical",
      "zed holds gid 1001 (sudo, privileged), which is now privileged",
    ],
  ]);
});

Deno.test("gids lost through any line: high for a privileged gid, medium otherwise", () => {
  const out = diffGroup(
    group(BASE + "sudo:x:27:mallory\ndevs:x:2500:bob\n"),
    group(BASE),
    "/etc/group",
  );
  assertEquals(told(out).filter(([a]) => a === "group_gid_lost"), [
    ["group_gid_lost", "high", "mallory loses gid 27 (sudo, privileged)"],
    ["group_gid_lost", "medium", "bob loses gid 2500 (devs)"],
  ]);
  // Removed from the line that names the gid: the member event says it.
  assertEquals(
    actions(diffGroup(group(BASE.replace("27:", "27:alice")), group(BASE), "x")),
    ["group_member_removed"],
  );
});

Deno.test("a group administrator of a privileged gid is critical, by name alone and by gid", () => {
  const admin = (name: string) =>
    diffGshadow(gshadow(`${name}:!::\n`), gshadow(`${name}:!:mallory:\n`), "/etc/gshadow")[0];
  assertEquals(admin("sudo").severity, "critical");
  assertEquals(admin("devs").severity, "high");
  const before = { group: group(BASE + "wheel2:x:27:\n"), gshadow: gshadow("wheel2:!::\n") };
  const after = { group: before.group, gshadow: gshadow("wheel2:!:mallory:\n") };
  const [c] = diffGroups(before, after);
  assertEquals([c.action, c.severity, c.fields?.group], [
    "group_admin_added",
    "critical",
    { name: "wheel2", id: "27" },
  ]);
});

Deno.test("a comment line grants its members the gid (glibc's initgroups reads it): critical", () => {
  const out = diffGroup(group(BASE), group(BASE + "#sudo:x:27:trudy\n"), "/etc/group");
  assertEquals(told(out), [
    [
      "group_gid_gained",
      "critical",
      "trudy gains gid 27 (sudo, privileged) through group #sudo at line 4",
    ],
  ]);
  // A last line with leading blanks: the member is `trudy` (getent shows `trudyudy`).
  const tail = diffGroup(group(BASE), group(BASE + "   x:x:27:trudy"), "/etc/group");
  assertEquals(tail.filter((c) => c.action === "group_gid_gained").map((c) => c.subject), ["sudo"]);
  assertEquals(tail.at(-1)?.fields?.user, { name: "trudy" });
});

Deno.test("diffGroup: after an upgrade, a snapshot without grants reports only what changed", () => {
  const text = "root:x:0:\nadm:x:4:syslog,alice\nsudo:x:27:alice\nusers:x:100:bob\n";
  // What an older bpfink kept: the entries as getgrent reads them, and no grants.
  const old = parseGroup(text).entries;
  const out = diffGroup(old, group(text + "staff:x:50:carol\n"), "/etc/group");
  assertEquals(
    out.filter((c) => c.action.startsWith("group_gid_")).map((c) => c.message),
    ["carol gains gid 50 (staff) through group staff at line 5"],
  );
});

import { assert, assertEquals } from "../../../test/assert.ts";
import { parseGroupFile } from "./group_file.ts";
import { parseGroup } from "./group.ts";
import { parseGshadow } from "./gshadow.ts";
import { hmacFingerprint } from "../users/shadow.ts";
import { diffGroup, diffGshadow } from "./groups_diff.ts";
import type { SemanticChange } from "../semantic_change.ts";
import type { Peers } from "../paired_consumer.ts";
import { parsePasswd } from "../users/passwd.ts";

const fp = hmacFingerprint(new TextEncoder().encode("k"));
const group = (t: string) => parseGroupFile(t).entries;
const gshadow = (t: string) => parseGshadow(t, fp).entries;
const actions = (cs: SemanticChange[]) => cs.map((c) => c.action);
/** The other databases beside the one diffed, as the pipeline hands them over. */
const peers = (dbs: Record<string, unknown[]>): Peers => <T>(kind: string) =>
  Object.hasOwn(dbs, kind) ? { entries: dbs[kind] as T[], file: `/etc/${kind}` } : undefined;
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
  assertEquals(
    out[0].message,
    "mallory added to group sudo as administrator (gpasswd lets them change its members and password)",
  );
  assertEquals(out[1].changes, [{ field: "password", from: "disabled", to: "set" }]);
  const text = JSON.stringify(out);
  assert(!text.includes(HASH.slice(10, 18)) && !text.includes(fp(HASH)), text);
});

Deno.test("a new group with groupadd's `!` is no password event", () => {
  assertEquals(actions(diffGshadow([], gshadow("devs:!::\n"), "/etc/gshadow")), []);
});

Deno.test("gshadow events carry the gid of the group file beside it", () => {
  const out = diffGshadow(
    gshadow("sudo:!::\n"),
    gshadow("sudo:!:eve:\n"),
    "/etc/gshadow",
    peers({ group: group("sudo:x:27:\n") }),
  );
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
      "zed holds gid 1001 (sudo, privileged) through group devs at line 5, which is now privileged",
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
  const [c] = diffGshadow(
    gshadow("wheel2:!::\n"),
    gshadow("wheel2:!:mallory:\n"),
    "/etc/gshadow",
    peers({ group: group(BASE + "wheel2:x:27:\n") }),
  );
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

const passwd = (t: string) => parsePasswd(t, fp).entries;
const PASSWD = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1001::/home/alice:/bin/sh\n";

Deno.test("a gid held as the primary gid is neither lost with a group line nor gained again", () => {
  const beside = peers({ passwd: passwd(PASSWD) });
  const lines = "devs:x:1001:alice\n";
  // Removed from the devs line, alice still holds 1001 as her primary gid.
  assertEquals(
    actions(diffGroup(group(BASE + lines), group(BASE + "devs:x:1001:\n"), "/etc/group", beside)),
    ["group_member_removed"],
  );
  // Listed on another line of gid 1001: nothing new.
  assertEquals(
    actions(diffGroup(group(BASE), group(BASE + "dev2:x:1001:alice\n"), "/etc/group", beside)),
    ["group_added"],
  );
  // Without passwd, the same line is a gain.
  assertEquals(
    actions(diffGroup(group(BASE), group(BASE + "dev2:x:1001:alice\n"), "/etc/group")),
    ["group_added", "group_gid_gained"],
  );
});

Deno.test("a primary gid that becomes privileged is gained, naming the passwd line", () => {
  const out = diffGroup(
    group(BASE + "devs:x:1001:\n"),
    group("sudo:x:1001:\n" + BASE + "devs:x:1001:\n"),
    "/etc/group",
    peers({ passwd: passwd(PASSWD) }),
  );
  assertEquals(told(out).filter(([a]) => a === "group_gid_gained"), [[
    "group_gid_gained",
    "critical",
    "alice holds gid 1001 (sudo, privileged) as primary gid at passwd line 2, which is now privileged",
  ]]);
  assertEquals(out.find((c) => c.action === "group_gid_gained")?.source, {
    file: "/etc/passwd",
    line: 2,
  });
});

const GROUPS = BASE + "devs:x:2500:bob\n";

Deno.test("gshadow members (newgrp and sg without a password) are reported, critical for a privileged gid", () => {
  const out = diffGshadow(
    gshadow("sudo:!::\ndevs:!::\n"),
    gshadow("sudo:!::eve\ndevs:!::carol\n"),
    "/etc/gshadow",
    peers({ group: group(GROUPS) }),
  );
  assertEquals(told(out), [
    [
      "group_member_added",
      "critical",
      "eve added to group sudo in gshadow (newgrp and sg give its gid without a password)",
    ],
    [
      "group_member_added",
      "high",
      "carol added to group devs in gshadow (newgrp and sg give its gid without a password)",
    ],
  ]);
  assertEquals(out[0].fields, { group: { name: "sudo", id: "27" }, user: { name: "eve" } });
  assertEquals(out[0].changes, [{ field: "members", to: "eve" }]);
  assertEquals(out[0].source, { file: "/etc/gshadow", line: 1 });
  const removed = diffGshadow(
    gshadow("sudo:!::eve\n"),
    gshadow("sudo:!::\n"),
    "/etc/gshadow",
    peers({ group: group(GROUPS) }),
  );
  assertEquals(told(removed), [[
    "group_member_removed",
    undefined,
    "eve removed from group sudo in gshadow (newgrp and sg give its gid without a password)",
  ]]);
  // By the gid of its name in the group file: an alias of 27 is critical too; without a
  // group file, by the name.
  const alias = diffGshadow(
    gshadow("wheel2:!::\n"),
    gshadow("wheel2:!::eve\n"),
    "/etc/gshadow",
    peers({ group: group(BASE + "wheel2:x:27:\n") }),
  );
  assertEquals([alias[0].severity, alias[0].fields?.group?.id], ["critical", "27"]);
  assertEquals(
    diffGshadow(gshadow("sudo:!::\n"), gshadow("sudo:!::eve\n"), "x")[0].severity,
    "critical",
  );
});

Deno.test("a gshadow member who holds the gid at login anyway gains nothing (gpasswd -a writes both files)", () => {
  const beside = peers({ group: group(GROUPS), passwd: passwd(PASSWD) });
  // bob is on the devs line; alice's primary gid is 1001.
  assertEquals(
    diffGshadow(
      gshadow("devs:!::\nx:!::\n"),
      gshadow("devs:!::bob\nx:!::alice\n"),
      "/etc/gshadow",
      peers({ group: group(GROUPS + "x:x:1001:\n"), passwd: passwd(PASSWD) }),
    ),
    [],
  );
  // Administrators are reported whatever the group file says.
  assertEquals(
    actions(
      diffGshadow(gshadow("devs:!::bob\n"), gshadow("devs:!:bob:bob\n"), "/etc/gshadow", beside),
    ),
    ["group_admin_added"],
  );
});

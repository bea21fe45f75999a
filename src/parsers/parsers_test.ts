import { assert, assertEquals } from "../../test/assert.ts";
import { parseAccessConf } from "./access_conf.ts";
import { parseGroup } from "./group.ts";
import { parseGshadow } from "./gshadow.ts";
import { parsePasswd } from "./passwd.ts";
import { passwordInfo } from "./password_field.ts";
import { parseShadow } from "./shadow.ts";
import { parseSudoers, type SudoersReader } from "./sudoers.ts";

const fp = (s: string) => `fp(${s.length})`;

Deno.test("passwd: fields, NIS lines skipped, malformed lines reported with their number", () => {
  const r = parsePasswd(
    "root:x:0:0:root:/root:/bin/bash\n+@netgroup\nbad:line\nbob:x:abc:1::/:/bin/sh\n",
    fp,
  );
  assertEquals(r.entries.map((e) => [e.name, e.uid, e.password.state]), [["root", 0, "shadowed"]]);
  assertEquals(r.errors.map((e) => e.line), [3, 4]);
});

Deno.test("shadow: password states, and the hash is never kept", () => {
  const hash = "$6$salt$abcdefghijklmnop";
  const r = parseShadow(
    `a:${hash}:19000:0:99999:7:::\nb:!${hash}:19000::::::\nc:*:19000::::::\nd::19000::::::\ne:!!:::::::\n`,
    fp,
  );
  assertEquals(r.errors, []);
  assertEquals(r.entries.map((e) => e.password.state), [
    "set",
    "locked",
    "disabled",
    "empty",
    "disabled",
  ]);
  assertEquals(
    r.entries[0].password.fingerprint,
    r.entries[1].password.fingerprint,
    "lock keeps the fingerprint",
  );
  assertEquals(r.entries[0].maxDays, 99999);
  assert(!JSON.stringify(r).includes("abcdefgh"));
});

Deno.test("password field: `x` is shadowed only where a shadow file exists", () => {
  assertEquals(passwordInfo("x", fp, true).state, "shadowed");
  assertEquals(passwordInfo("x", fp).state, "disabled");
  assertEquals(passwordInfo("!", fp).state, "disabled");
});

Deno.test("group and gshadow: members and admins", () => {
  const g = parseGroup("sudo:x:27:alice,bob\nempty:x:5:\n");
  assertEquals(g.entries.map((e) => [e.name, e.gid, e.members]), [["sudo", 27, ["alice", "bob"]], [
    "empty",
    5,
    [],
  ]]);
  const gs = parseGshadow("sudo:!::alice,bob\nadm:$6$x$y:carol:dave\n", fp);
  assertEquals(gs.entries[1].admins, ["carol"]);
  assertEquals(gs.entries[1].password.state, "set");
});

Deno.test("sudoers: rules, Defaults, aliases, continuations, #uid users, comments", () => {
  const text = [
    "# a comment",
    "Defaults   env_reset",
    "Defaults:bob !requiretty",
    "User_Alias ADMINS = alice, \\",
    "   bob : OPS = carol",
    "Cmnd_Alias SHUT = /sbin/shutdown",
    "#1000 ALL = (ALL) ALL",
    "bob  ALL=(ALL)   NOPASSWD:ALL   # trailing comment",
    "%wheel ALL=(ALL:ALL) ALL",
    "this is not sudoers",
  ].join("\n");
  const r = parseSudoers(text, "/etc/sudoers");
  assertEquals(r.entries.map((e) => `${e.kind} ${e.canonical}`), [
    "default Defaults env_reset",
    "default Defaults:bob !requiretty",
    "alias User_Alias ADMINS=alice, bob",
    "alias User_Alias OPS=carol",
    "alias Cmnd_Alias SHUT=/sbin/shutdown",
    "rule #1000 ALL=(ALL) ALL",
    "rule bob ALL=(ALL) NOPASSWD: ALL",
    "rule %wheel ALL=(ALL:ALL) ALL",
  ]);
  assertEquals(r.errors.map((e) => e.line), [10]);
  assertEquals(r.entries[6].line, 8);
});

Deno.test("sudoers includes: relative paths, includedir rules, cycles and depth are bounded", () => {
  const files: Record<string, string> = {
    "/etc/sudoers": "@include sudoers.local\n@includedir /etc/sudoers.d\n",
    "/etc/sudoers.local": "local ALL=(ALL) ALL\n#include /etc/sudoers\n",
    "/etc/sudoers.d/a": "a ALL=(ALL) ALL\n",
    "/etc/sudoers.d/b~": "skipped ALL=(ALL) ALL\n",
    "/etc/sudoers.d/c.bak": "skipped ALL=(ALL) ALL\n",
  };
  const reader: SudoersReader = {
    readFile: (p) => files[p],
    readDir: (p) =>
      Object.keys(files).filter((f) => f.startsWith(p + "/")).map((f) => f.slice(p.length + 1)),
  };
  const r = parseSudoers(files["/etc/sudoers"], "/etc/sudoers", { reader });
  const rules = r.entries.filter((e) => e.kind === "rule").map((e) => `${e.file}: ${e.subject}`);
  assertEquals(rules, ["/etc/sudoers.local: local", "/etc/sudoers.d/a: a"]);
  assert(r.errors.some((e) => e.message.startsWith("include cycle")), JSON.stringify(r.errors));
  const deep: Record<string, string> = {};
  for (let i = 0; i < 50; i++) deep[`/d/${i}`] = `@include /d/${i + 1}\nu${i} ALL=(ALL) ALL\n`;
  const dr = parseSudoers(deep["/d/0"], "/d/0", {
    reader: { readFile: (p) => deep[p], readDir: () => [] },
  });
  assert(dr.entries.filter((e) => e.kind === "rule").length <= 9);
  assert(dr.errors.some((e) => e.message.includes("nested deeper")));
});

Deno.test("access.conf: + and - rules normalised; bad permissions reported", () => {
  const r = parseAccessConf("+ : root : LOCAL\n-:ALL EXCEPT  root:ALL\n* : x : y\n");
  assertEquals(r.entries.map((e) => e.canonical), [
    "+ : root : LOCAL",
    "- : ALL EXCEPT root : ALL",
  ]);
  assertEquals(r.errors.map((e) => e.line), [3]);
});

Deno.test("sudoers: a long comma list parses in linear time (no regex backtracking)", () => {
  const t0 = performance.now();
  const r = parseSudoers(Array(5000).fill("a").join(",") + " nothing-here", "/etc/sudoers");
  assert(performance.now() - t0 < 200, "too slow");
  assertEquals(r.entries.length, 0);
  assertEquals(parseSudoers("alice, bob ALL=(ALL) ALL\n", "/s").entries[0].subject, "alice, bob");
});

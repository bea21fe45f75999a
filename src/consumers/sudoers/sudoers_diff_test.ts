import { assert, assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { parseSudoers } from "./sudoers.ts";
import type { SemanticChange } from "../semantic_change.ts";
import { diffSudoers } from "./sudoers_diff.ts";

const parse = (t: string) => parseSudoers(t, "/etc/sudoers").entries;
const diff = (a: string, b: string) => diffSudoers(parse(a), parse(b));
const actions = (cs: SemanticChange[]) => cs.map((c) => c.action);

const BASE = "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n";

Deno.test("reports a sudo rule added, with the user", () => {
  const out = diff(BASE, BASE + "bob   ALL = (ALL)  NOPASSWD:ALL\n");
  assertEquals(out, [{
    action: "sudoers_rule_added",
    subject: "bob ALL=(ALL) NOPASSWD: ALL",
    message: "sudo rule added: bob ALL=(ALL) NOPASSWD: ALL",
    changes: [{ field: "weakens", to: ["NOPASSWD"] }],
    fields: { user: { name: "bob" } },
    source: { file: "/etc/sudoers", line: 4 },
  }]);
});

Deno.test("a uid rule names the user by id; group, alias and list rules name no user", () => {
  assertEquals(diff("", "#0 ALL=ALL\n")[0].fields, { user: { id: "0" } });
  // As sudo reads ids (cvtsudoers 1.9.13): a negative id wraps to 32 bits; -1 names no one.
  assertEquals(diff("", "#-1000 ALL=ALL\n")[0].fields, { user: { id: "4294966296" } });
  assertEquals(diff("", "#007 ALL=ALL\n")[0].fields, { user: { id: "7" } });
  assertEquals(diff("", "#-1 ALL=ALL\n")[0].fields, undefined);
  for (const who of ["%wheel", "ADMINS", "ALL", "a, b", "+netgroup"]) {
    assertEquals(diff("", `${who} ALL=ALL\n`)[0].fields, undefined, who);
  }
});

Deno.test("respacing, comments and continuations are not changes", () => {
  const respaced = "# edited\nDefaults    env_reset  # why\nroot ALL = (ALL : ALL) ALL\n" +
    "%sudo  ALL=(ALL:ALL) \\\n  ALL\n";
  assertEquals(diff(BASE, respaced), []);
});

Deno.test("reports a rule removed and a changed rule as removed + added", () => {
  const out = diff(
    BASE,
    "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n",
  );
  assertEquals(actions(out), ["sudoers_rule_added", "sudoers_rule_removed"]);
  assertEquals(out[1].message, "sudo rule removed: %sudo ALL=(ALL:ALL) ALL");
});

Deno.test("reports one Defaults setting added to a line", () => {
  const out = diff(BASE, BASE.replace("env_reset", "env_reset, !authenticate"));
  assertEquals(actions(out), ["sudoers_default_added"]);
  assertEquals(out[0].message, "sudo default added: Defaults !authenticate");
});

Deno.test("reports aliases added, removed and redefined", () => {
  const out = diff(
    "User_Alias ADMINS = alice\nCmnd_Alias OLD = /bin/ls\n",
    "User_Alias ADMINS = alice, mallory\nHost_Alias WEB = web1\n",
  );
  assertEquals(actions(out), [
    "sudoers_alias_modified",
    "sudoers_alias_added",
    "sudoers_alias_removed",
  ]);
  assertEquals(out[0].message, "sudo alias ADMINS changed: alice → alice, mallory");
  assertEquals(out[0].changes, [{ field: "members", from: ["alice"], to: ["alice", "mallory"] }]);
});

Deno.test("reports includes added", () => {
  const out = diff(BASE, BASE + "#includedir /etc/sudoers.d\n");
  assertEquals(actions(out), ["sudoers_include_added"]);
  assertEquals(out[0].message, "sudo include added: @includedir /etc/sudoers.d");
});

Deno.test("reports rules reordered (the last match wins)", () => {
  const a = "bob ALL=ALL\nbob ALL=!/bin/sh\n";
  const b = "bob ALL=!/bin/sh\nbob ALL=ALL\n";
  assertEquals(actions(diff(a, b)), ["sudoers_rules_reordered"]);
  assertEquals(actions(diff(a, a + "x ALL=ALL\n")), ["sudoers_rule_added"]);
});

Deno.test("a flood of settings is itemized up to the limit and counted past it; a reorder still shows", () => {
  const flood = "Defaults env_reset\nDefaults " +
    Array.from({ length: 2500 }, (_, i) => `s${i}`).join(",") +
    "\n";
  const out = diff(BASE, flood + "%sudo ALL=(ALL:ALL) ALL\nroot ALL=(ALL:ALL) ALL\n");
  const counted = out.find((c) => c.action === "sudoers_changes_not_itemized");
  assertEquals(out.filter((c) => c.action === "sudoers_default_added").length, 1000);
  assertEquals(counted?.changes, [
    { field: "not_itemized", to: 1500 },
    { field: "not_itemized_severity", to: "medium" },
    { field: "not_itemized.sudoers_default_added", to: 1500 },
  ]);
  assertEquals(out.some((c) => c.action === "sudoers_rules_reordered"), true);
});

Deno.test("a line bpfink cannot interpret is reported when added, never skipped quietly", () => {
  const out = diff(BASE, BASE + "eve ALL = (ALL NOPASSWD: ALL\n");
  assertEquals(actions(out), ["sudoers_unparsed_added"]);
  assertEquals(out[0].changes, [{ field: "unparsed", to: "eve ALL = (ALL NOPASSWD: ALL" }]);
  assertEquals(out[0].source, { file: "/etc/sudoers", line: 4 });
  assertEquals(
    out[0].message.startsWith("sudoers line bpfink cannot interpret added (sudo may accept it"),
    true,
    out[0].message,
  );
  assertEquals(actions(diff(BASE + "eve ALL = (ALL NOPASSWD: ALL\n", BASE)), [
    "sudoers_unparsed_removed",
  ]);
});

Deno.test("a NOPASSWD rule behind 1,000 decoy rules is itemized; the summary counts the decoys", () => {
  const decoys = Array.from({ length: 1000 }, (_, i) => `u${i} web${i} = /bin/true`).join("\n");
  const out = diff(BASE, `${BASE}${decoys}\neve ALL=(ALL) NOPASSWD: ALL\n`);
  assertEquals(out.length, 1001);
  assertEquals(out[0].message, "sudo rule added: eve ALL=(ALL) NOPASSWD: ALL");
  assertEquals(changeSeverity(out[0]), "critical");
  // The decoys keep their order; the last one is the one left out.
  assertEquals(out[1].subject, "u0 web0=/bin/true");
  assertEquals(out[999].subject, "u998 web998=/bin/true");
  const summary = out[1000];
  assertEquals(summary.action, "sudoers_changes_not_itemized");
  assertEquals(
    summary.message,
    "1 more sudoers changes not itemized (at most 1000 per diff, the most severe first; up to high): 1 sudoers_rule_added",
  );
  assertEquals(changeSeverity(summary), "high");
});

Deno.test("the summary of what is not itemized carries the highest level and protections among them", () => {
  const grants = Array.from({ length: 1002 }, (_, i) => `u${i} ALL = NOPASSWD: ALL`).join("\n");
  const out = diff(BASE, `${BASE}${grants}\n`);
  const summary = out.at(-1)!;
  assertEquals(summary.changes?.find((c) => c.field === "not_itemized")?.to, 2);
  assertEquals(summary.changes?.find((c) => c.field === "weakens")?.to, ["NOPASSWD"]);
  assertEquals(changeSeverity(summary), "critical");
});

Deno.test("Defaults that remove sudo's protections are as severe as a NOPASSWD rule", () => {
  const cases: [string, string[]][] = [
    ["Defaults !authenticate", ["!authenticate"]],
    ["Defaults:eve !authenticate", ["!authenticate"]],
    ["Defaults>root !authenticate", ["!authenticate"]],
    ['Defaults env_keep += "LD_PRELOAD LD_LIBRARY_PATH"', [
      "env_keep LD_PRELOAD",
      "env_keep LD_LIBRARY_PATH",
    ]],
    ['Defaults env_check += "LD_*"', ["env_check LD_*"]],
    ["Defaults !env_reset", ["!env_reset"]],
    ["Defaults setenv", ["setenv"]],
    ["Defaults !secure_path", ["!secure_path"]],
    ["Defaults timestamp_timeout=-1", ["timestamp_timeout never expires"]],
    ['Defaults env_delete -= "LD_PRELOAD"', ["env_delete LD_PRELOAD"]],
    ["Defaults !syslog", ["!syslog"]],
    ["Defaults !log_allowed", ["!log_allowed"]],
    ['Defaults env_keep += "BASH_ENV PERL5OPT"', ["env_keep BASH_ENV", "env_keep PERL5OPT"]],
    ['Defaults env_keep += "PYTHON*"', ["env_keep PYTHON*"]],
    ['Defaults env_keep = "*"', ["env_keep *"]],
    ["Defaults !tty_tickets", ["!tty_tickets"]],
    ['Defaults timestamp_type="global"', ["timestamp_type=global"]],
    ["Defaults exempt_group=users", ["exempt_group users"]],
    ["Defaults targetpw", ["targetpw"]],
    ["Defaults:bob rootpw", ["rootpw"]],
    ["Defaults runaspw", ["runaspw"]],
    ["Defaults !use_pty", ["!use_pty"]],
  ];
  for (const [line, weakens] of cases) {
    const out = diff(BASE, `${BASE}${line}\n`);
    assertEquals(out.length, 1, line);
    assertEquals(out[0].changes, [{ field: "weakens", to: weakens }], line);
    assertEquals(changeSeverity(out[0]), "critical", line);
  }
  const secure = 'Defaults secure_path="/usr/sbin:/usr/bin"\n';
  const removed = diff(BASE + secure, BASE);
  assertEquals(removed[0].changes, [{ field: "weakens", to: ["secure_path removed"] }]);
  assertEquals(changeSeverity(removed[0]), "critical");
  // Harmless settings stay as they were.
  for (
    const line of [
      'Defaults env_keep += "LANG"',
      "Defaults !requiretty",
      "Defaults timestamp_timeout=5",
      'Defaults env_delete += "LD_PRELOAD"',
      'Defaults env_keep += "PYTHONIOENCODING EDITOR"',
      "Defaults timestamp_type=tty",
      "Defaults use_pty",
      "Defaults !targetpw",
    ]
  ) {
    const out = diff(BASE, `${BASE}${line}\n`);
    assertEquals(out[0].changes, undefined, line);
    assert(changeSeverity(out[0]) !== "critical", line);
  }
});

Deno.test("an alias change carries what the rules using it grant, in this file or another", () => {
  const rules = "User_Alias ADMINS = alice\nADMINS ALL=(ALL) NOPASSWD: ALL\n";
  const out = diff(BASE + rules, BASE + rules.replace("= alice", "= alice, eve"));
  assertEquals(out[0].message, "sudo alias ADMINS changed: alice → alice, eve");
  assertEquals(out[0].changes?.at(-1), { field: "weakens", to: ["NOPASSWD"] });
  assertEquals(changeSeverity(out[0]), "critical");
  // Through another alias, with the rule in another file (the consumer passes the other files).
  const main = parse("User_Alias OPS = TEAM\nOPS ALL = NOPASSWD: /bin/sh\n");
  const d = (t: string) => parseSudoers(t, "/etc/sudoers.d/team").entries;
  const nested = diffSudoers(d("User_Alias TEAM = bob\n"), d("User_Alias TEAM = bob, eve\n"), main);
  assertEquals(nested[0].changes?.at(-1), { field: "weakens", to: ["NOPASSWD"] });
  // A Defaults that uses it counts too; an alias no dangerous rule uses stays high.
  const def = "User_Alias A = x\nDefaults:A !authenticate\n";
  assertEquals(diff(def, def.replace("= x", "= x, y"))[0].changes?.at(-1), {
    field: "weakens",
    to: ["!authenticate"],
  });
  const plain = "User_Alias B = x\nB ALL = /bin/ls\n";
  const p = diff(plain, plain.replace("= x", "= x, y"));
  assertEquals(changeSeverity(p[0]), "high");
  // An alias added for a rule already there.
  const added = diff(
    "ADMINS ALL = NOPASSWD: ALL\n",
    "User_Alias ADMINS = eve\nADMINS ALL = NOPASSWD: ALL\n",
  );
  assertEquals(added[0].action, "sudoers_alias_added");
  assertEquals(changeSeverity(added[0]), "critical");
});

Deno.test("a user named with a BOM is reported with it, visibly", () => {
  const out = diff(BASE, BASE + "\ufeffalice ALL=ALL\n");
  assertEquals(out[0].message, "sudo rule added: \\u{feff}alice ALL=ALL");
  assertEquals(out[0].fields, { user: { name: "\ufeffalice" } });
});

import { assertEquals } from "../../../test/assert.ts";
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
    fields: { user: { name: "bob" } },
    source: { file: "/etc/sudoers", line: 4 },
  }]);
});

Deno.test("a uid rule names the user by id; group, alias and list rules name no user", () => {
  assertEquals(diff("", "#0 ALL=ALL\n")[0].fields, { user: { id: "0" } });
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
  assertEquals(counted?.changes, [{ field: "not_itemized", to: 1500 }]);
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

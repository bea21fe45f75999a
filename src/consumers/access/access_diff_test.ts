import { assertEquals } from "../../../test/assert.ts";
import { parseAccessConf } from "./access_conf.ts";
import { diffAccess } from "./access_diff.ts";

const parse = (t: string) => parseAccessConf(t).entries;
const diff = (a: string, b: string) => diffAccess(parse(a), parse(b), "/etc/security/access.conf");
const BASE = "+ : root : LOCAL\n- : ALL : ALL\n";

Deno.test("reports an access rule added, and what it grants", () => {
  const out = diff(BASE, "+ : eve : ALL\n" + BASE);
  assertEquals(out, [{
    action: "access_rule_added",
    subject: "+ : eve : ALL",
    message: "access rule added: + : eve : ALL (grants eve from ALL)",
    source: { file: "/etc/security/access.conf", line: 1 },
  }]);
});

Deno.test("reports an access rule removed", () => {
  const out = diff(BASE, "+ : root : LOCAL\n");
  assertEquals(out.map((c) => [c.action, c.message]), [
    ["access_rule_removed", "access rule removed: - : ALL : ALL"],
  ]);
});

Deno.test("respacing is no change; reordering is (the first match wins)", () => {
  assertEquals(diff(BASE, "+:root:LOCAL\n-   :ALL:   ALL\n"), []);
  assertEquals(
    diff(BASE, "- : ALL : ALL\n+ : root : LOCAL\n").map((c) => c.action),
    ["access_rules_reordered"],
  );
});

Deno.test("past the cap, the most severe are itemized and the summary counts the rest by kind", () => {
  const old = Array.from({ length: 5 }, (_, i) => `- : old${i} : ALL`).join("\n");
  const added = Array.from({ length: 1001 }, (_, i) => `+ : u${i} : ALL`).join("\n");
  const out = diff(`${old}\n${BASE}`, `${added}\n${BASE}`);
  assertEquals(out.filter((c) => c.action === "access_rule_added").length, 1000);
  assertEquals(out.filter((c) => c.action === "access_rule_removed").length, 0);
  const summary = out.at(-1)!;
  assertEquals(summary.action, "access_changes_not_itemized");
  assertEquals(summary.changes, [
    { field: "not_itemized", to: 6 },
    { field: "not_itemized_severity", to: "high" },
    { field: "not_itemized.access_rule_added", to: 1 },
    { field: "not_itemized.access_rule_removed", to: 5 },
  ]);
});

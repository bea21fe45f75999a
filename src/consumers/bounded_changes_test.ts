import { assertEquals } from "../../test/assert.ts";
import { parseSudoers } from "./sudoers/sudoers.ts";
import { diffSudoers } from "./sudoers/sudoers_diff.ts";
import { boundedChanges } from "./bounded_changes.ts";

const entries = (text: string) => parseSudoers(text, "/etc/sudoers").entries;

Deno.test("the pipeline's bound keeps a differ's own bound as it is: the summary's counts, the reorder itemized", () => {
  const base = "bob ALL=ALL\nbob ALL=!/bin/sh\n";
  const flood = Array.from({ length: 1500 }, (_, i) => `u${i} ALL = NOPASSWD: /bin/x${i}`);
  const out = diffSudoers(
    entries(base),
    entries(`bob ALL=!/bin/sh\nbob ALL=ALL\n${flood.join("\n")}\n`),
  );
  assertEquals(out.at(-2)?.action, "sudoers_rules_reordered");
  assertEquals(out.at(-1)?.action, "sudoers_changes_not_itemized");
  assertEquals(boundedChanges("sudoers", out), out);
  // Passed through twice, still the same: a summary adds to the counts, never twice.
  assertEquals(boundedChanges("sudoers", boundedChanges("sudoers", out)), out);
});

Deno.test("a blob's summary adds up what a differ's own summary counted", () => {
  const flood = Array.from({ length: 1200 }, (_, i) => `u${i} ALL = /bin/x${i}`);
  const out = diffSudoers([], entries(flood.join("\n") + "\n"));
  const [blob] = boundedChanges("sudoers", out, { now: true, before: false });
  assertEquals(blob.action, "sudoers_not_text");
  assertEquals(blob.changes?.find((c) => c.field === "not_itemized")?.to, 1200);
  assertEquals(blob.changes?.find((c) => c.field === "not_itemized.sudoers_rule_added")?.to, 1200);
  assertEquals(blob.severity, "high");
});

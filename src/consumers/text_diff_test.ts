import { assertEquals } from "../../test/assert.ts";
import { MAX_DIFF_LINES, textLineDiff } from "./text_diff.ts";

Deno.test("textLineDiff() reports a moved line: order is meaning in rule files", () => {
  const before = { lines: ["-:ALL:ALL", "+:root:LOCAL", "x"] };
  const after = { lines: ["+:root:LOCAL", "-:ALL:ALL", "x"] };
  const d = textLineDiff(before, after)!;
  assertEquals(d.added.length, 1);
  assertEquals(d.removed.length, 1);
  assertEquals(d.added[0], d.removed[0]);
});

Deno.test("textLineDiff() gives added and removed lines in file order, capped", () => {
  assertEquals(textLineDiff({ lines: ["a", "b", "c"] }, { lines: ["a", "B", "c", "d"] }), {
    added: ["B", "d"],
    removed: ["b"],
  });
  const many = Array.from({ length: MAX_DIFF_LINES + 5 }, (_, i) => `l${i}`);
  const d = textLineDiff({ lines: [] }, { lines: many })!;
  assertEquals(d.added.length, MAX_DIFF_LINES);
  assertEquals(d.truncated, true);
  assertEquals(textLineDiff({ lines: ["a"] }, "not lines"), undefined);
});

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

Deno.test("textLineDiff() reads a text file's bytes as its lines, and a snapshot stored as lines before", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  assertEquals(textLineDiff(bytes("a\nb\nc\n"), bytes("a\nB\nc\nd\n")), {
    added: ["B", "d"],
    removed: ["b"],
  });
  // A database of an earlier bpfink holds { lines }: the first change after an upgrade diffs
  // against it.
  assertEquals(textLineDiff({ lines: ["a", "b", ""] }, bytes("a\nc\n")), {
    added: ["c"],
    removed: ["b"],
  });
  // Invalid UTF-8 reads as U+FFFD, as the file's text does everywhere else.
  assertEquals(textLineDiff(bytes("x\n"), new Uint8Array([0x78, 0x0a, 0xff, 0x0a])), {
    added: ["\ufffd"],
    removed: [],
  });
});

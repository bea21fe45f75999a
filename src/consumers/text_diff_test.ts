import { assert, assertEquals } from "../../test/assert.ts";
import { MAX_DIFF_LINES, MAX_LINE_CHARS, textLineDiff } from "./text_diff.ts";

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

Deno.test("textLineDiff() cuts a long line after redacting its hashes: no part of a hash at the cut shows", () => {
  const hash = "$6$saltsalt$" + "Ab1/".repeat(21) + "Zz";
  // The hash starts just before the cut: cut first, its first characters would show unredacted.
  const line = "x".repeat(MAX_LINE_CHARS - 20) + ":" + hash + ":19000:0:99999:7:::";
  const d = textLineDiff({ lines: ["a"] }, { lines: ["a", line] })!;
  const shown = d.added[0];
  assert(shown.startsWith("x".repeat(MAX_LINE_CHARS - 20) + ":[redacted]"), shown.slice(-60));
  for (let i = 0; i + 8 <= hash.length; i++) {
    assert(
      !shown.includes(hash.slice(i, i + 8)),
      `part of the hash shows: ${hash.slice(i, i + 8)}`,
    );
  }
  const long = "y".repeat(5000);
  const cut = textLineDiff({ lines: ["a"] }, { lines: [long] })!.added[0];
  assertEquals(cut, `${"y".repeat(MAX_LINE_CHARS)}…(${5000 - MAX_LINE_CHARS} more)`);
});

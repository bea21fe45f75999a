import { assert, assertEquals } from "../../test/assert.ts";
import { cpuClock } from "../../test/cpu_clock.ts";
import { diffLines, isBinary, type LineDiff, splitLines } from "./line_diff.ts";

function diffOf(d: LineDiff) {
  assert(d.status === "diff", JSON.stringify(d));
  return d;
}

Deno.test("line diff: added and removed lines with their numbers", () => {
  const d = diffOf(diffLines("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n"));
  assertEquals(d.method, "myers");
  assertEquals(d.removed, [{ line: 2, text: "b" }]);
  assertEquals(d.added, [{ line: 2, text: "B" }, { line: 5, text: "e" }]);
  assertEquals([d.addedCount, d.removedCount, d.truncated], [2, 1, false]);
});

Deno.test("line diff: identical texts, CRLF and a missing final newline are no change", () => {
  const d = diffOf(diffLines("a\r\nb\r\n", "a\nb"));
  assertEquals([d.added, d.removed], [[], []]);
  assertEquals(splitLines(""), []);
  assertEquals(splitLines("x\n\n"), ["x", ""]);
});

Deno.test("line diff: bytes are decoded as UTF-8; binary is detected", () => {
  const enc = new TextEncoder();
  const d = diffOf(diffLines(enc.encode("café\n"), enc.encode("café\nthé\n")));
  assertEquals(d.added, [{ line: 2, text: "thé" }]);
  assert(isBinary(new Uint8Array([0x61, 0x00, 0x62])), "NUL");
  assert(isBinary(new Uint8Array([0xff, 0xfe, 0xfd, 0x61])), "mostly invalid UTF-8");
  // A Latin-1 config file with one accented letter is still text.
  const latin1 = new Uint8Array([...enc.encode("name = Ren"), 0xe9, ...enc.encode(" Dupont\n")]);
  assert(!isBinary(latin1), "a little invalid UTF-8");
  assertEquals(diffLines("a\n", new Uint8Array([0x61, 0, 0x0a])), { status: "binary" });
});

Deno.test("line diff: too many bytes or lines is reported, not diffed", () => {
  assertEquals(diffLines("x".repeat(101), "", { maxBytes: 100 }).status, "too_large");
  assertEquals(diffLines("a\nb\nc\n", "", { maxLines: 2 }).status, "too_large");
});

Deno.test("line diff: output is capped, counts stay exact, long lines are cut", () => {
  const before = Array.from({ length: 50 }, (_, i) => `l${i}`).join("\n");
  const d = diffOf(diffLines(before, "z".repeat(50), { maxShown: 10, maxLineChars: 5 }));
  assertEquals([d.added.length, d.removed.length, d.removedCount, d.truncated], [1, 10, 50, true]);
  assertEquals(d.added[0].text, "zzzzz…");
});

Deno.test("line diff: beyond the edit bound it falls back to a multiset diff", () => {
  const a = Array.from({ length: 300 }, (_, i) => `a${i}`).join("\n");
  const b = Array.from({ length: 300 }, (_, i) => `b${i}`).join("\n");
  const d = diffOf(diffLines(a, b, { maxEdits: 100 }));
  assertEquals([d.method, d.addedCount, d.removedCount], ["multiset", 300, 300]);
});

/** Length of the longest common subsequence, by dynamic programming (small inputs only). */
function lcs(a: string[], b: string[]): number {
  const row = new Array(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j], row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

Deno.test("line diff: Myers gives a valid, shortest edit script (random property test)", () => {
  let seed = 12345;
  const r = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  for (let run = 0; run < 500; run++) {
    const pick = () =>
      Array.from({ length: Math.floor(r() * 30) }, () => "abcd"[Math.floor(r() * 4)]);
    const a = pick();
    const b = pick();
    const d = diffOf(diffLines(a.join("\n"), b.join("\n")));
    assertEquals(d.method, "myers");
    const keptA = a.filter((_, i) => !d.removed.some((x) => x.line === i + 1));
    const keptB = b.filter((_, i) => !d.added.some((x) => x.line === i + 1));
    assertEquals(keptA, keptB, `not a common subsequence: ${a.join("")} → ${b.join("")}`);
    assertEquals(
      d.addedCount + d.removedCount,
      a.length + b.length - 2 * lcs(a, b),
      `not shortest: ${a.join("")} → ${b.join("")}`,
    );
  }
});

Deno.test("line diff: 100k-line files with few or total changes stay fast and bounded", () => {
  const a = Array.from({ length: 100_000 }, (_, i) => `line ${i}`);
  const b = a.slice();
  for (let i = 0; i < 100_000; i += 997) b[i] = `changed ${i}`;
  let t0 = cpuClock();
  const d = diffOf(diffLines(a.join("\n"), b.join("\n")));
  assert(t0() < 3000, "few changes");
  assertEquals([d.method, d.addedCount, d.removedCount], ["myers", 101, 101]);

  t0 = cpuClock();
  const e = diffOf(diffLines(a.join("\n"), a.map((l) => l + "!").join("\n")));
  assert(t0() < 3000, "total change");
  assertEquals([e.method, e.addedCount, e.removedCount], ["multiset", 100_000, 100_000]);
});

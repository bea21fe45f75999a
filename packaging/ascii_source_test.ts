import { assertEquals } from "../test/assert.ts";
import { asciiSource } from "./ascii_source.ts";

Deno.test("asciiSource: a script means the same once every character above ASCII is escaped", () => {
  const src = [
    "// a comment → with ² and 😀",
    "const s = 'µs → 2³²−1 😀';",
    'const d = "é\\u00e9";',
    "const t = `${s} · 😀 ${1 + 1}`;",
    "const re = /(\\d+)(ns|us|µs|ms)/g;",
    "const u = /[😀é]/u.test('😀') && /😀/.test('😀');",
    "const café = 'named';",
    "[s, d, t, re.exec('5µs')?.[2], u, café]",
  ].join("\n");
  const ascii = asciiSource(src);
  assertEquals(/[\u0080-\uffff]/.test(ascii), false, ascii);
  assertEquals((0, eval)(ascii), (0, eval)(src));
});

Deno.test("asciiSource: an ASCII script is left as it is", () => {
  const src = "const a = 'plain';\n// \\u2192 already escaped\n";
  assertEquals(asciiSource(src), src);
});

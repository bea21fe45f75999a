import { assert, assertEquals } from "../../test/assert.ts";
import { rng } from "../../test/rng.ts";
import { decodePathBytes, displayPath, hasEscapes, pathBytes } from "./path_bytes.ts";

Deno.test("a valid name whose UTF-16 low surrogate looks like an escaped byte is shown as it is", () => {
  // U+1F480..U+1F4FF (💀, 💩, 📁 …) and U+10080: their low surrogates are DC80..DCFF.
  for (const s of ["a\u{10080}b", "💀", "rm 💩.conf", "📁/x"]) {
    assertEquals(hasEscapes(s), false, s);
    assertEquals(displayPath(s), s);
    assertEquals(decodePathBytes(new TextEncoder().encode(s)), s);
  }
  assertEquals(
    displayPath(decodePathBytes(new Uint8Array([0x61, 0xff, 0xf0, 0x9f, 0x92, 0x80]))),
    "a\\xff💀",
  );
});

Deno.test("fuzz: any bytes decode to a string that encodes back to them, and display as well-formed text", () => {
  const r = rng(0x9a7b);
  for (let i = 0; i < 5000; i++) {
    const n = 1 + Math.floor(r() * 12);
    const bytes = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      // Mostly the bytes of UTF-8's multi-byte forms, so that valid and broken sequences mix.
      bytes[j] = r() < 0.6 ? 0x80 + Math.floor(r() * 0x78) : Math.floor(r() * 256);
    }
    const s = decodePathBytes(bytes);
    assertEquals([...pathBytes(s)], [...bytes], `bytes ${[...bytes]}`);
    const shown = displayPath(s);
    assert(shown.isWellFormed(), `not well-formed: ${JSON.stringify(shown)} from ${[...bytes]}`);
    assertEquals(hasEscapes(s) || s.includes("\\"), shown !== s, `bytes ${[...bytes]}`);
    assertEquals([...undisplay(shown)], [...bytes], `shown ${JSON.stringify(shown)}`);
  }
});

/** The bytes a displayed path stands for: `\\` is a backslash, `\xNN` that byte. */
function undisplay(shown: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < shown.length; i++) {
    if (shown[i] === "\\" && shown[i + 1] === "\\") {
      out.push(0x5c);
      i++;
    } else if (shown[i] === "\\" && shown[i + 1] === "x") {
      out.push(parseInt(shown.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const cp = shown.codePointAt(i)!;
      out.push(...new TextEncoder().encode(String.fromCodePoint(cp)));
      if (cp > 0xffff) i++;
    }
  }
  return new Uint8Array(out);
}

Deno.test("a name holding the characters \\xff never displays as one holding the byte 0xff", () => {
  const literal = "q\\xff";
  const byte = decodePathBytes(new Uint8Array([0x71, 0xff]));
  assertEquals(displayPath(byte), "q\\xff");
  assertEquals(displayPath(literal), "q\\\\xff");
});

/**
 * Text made safe for one line of a terminal or a text log: what a file,
 * process or user name may hold cannot end the line, drive the terminal or
 * forge an escape.
 *
 * @module
 */

/**
 * `s` made safe for one terminal line: control characters (C0, DEL, C1:
 * newlines, carriage returns, ESC and with it every ANSI sequence), the
 * Unicode line separators and bidi overrides, and lone surrogates (what is
 * left of invalid UTF-8) are written as visible escapes (`\n`, `\x1b`,
 * `\u202e`); a backslash is doubled so an escape cannot be forged either.
 */
export function escapeTerminal(s: string): string {
  return s.replace(
    // deno-lint-ignore no-control-regex
    /[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => {
      if (c === "\\") return "\\\\";
      if (c === "\n") return "\\n";
      if (c === "\r") return "\\r";
      if (c === "\t") return "\\t";
      const code = c.charCodeAt(0);
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`;
    },
  ).replace(INVISIBLE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16)}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * What shows as nothing or as a plain space: Unicode format characters (a
 * BOM, zero-width spaces and joiners, a soft hyphen) and the spaces that are
 * not U+0020. `\u{feff}alice` must not read as `alice`.
 */
const INVISIBLE = /[\p{Cf}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/gu;

/** Terminal cells a code point takes: 2 for wide (East Asian, emoji), 0 for combining marks. */
function cells(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x20d0 && cp <= 0x20ff)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f000 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return 1;
}

/**
 * `line` cut to fit `columns` terminal cells, ending in `…`, so that a
 * terminal never wraps it: a row that wraps could be made by a long name to
 * read like a line of its own (a forged report). The line's own SGR color
 * sequences (every ESC in it is bpfink's: escapeTerminal escaped the rest)
 * are kept whole, and a cut line ends them.
 */
export function fitLine(line: string, columns: number): string {
  if (!(columns >= 8)) return line;
  let width = 0;
  for (let i = 0; i < line.length;) {
    if (line[i] === "\x1b") {
      i = line.indexOf("m", i) + 1 || line.length;
      continue;
    }
    const cp = line.codePointAt(i)!;
    width += cells(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  if (width < columns) return line;
  let out = "";
  width = 0;
  for (let i = 0; i < line.length;) {
    if (line[i] === "\x1b") {
      const end = line.indexOf("m", i) + 1 || line.length;
      out += line.slice(i, end);
      i = end;
      continue;
    }
    const cp = line.codePointAt(i)!;
    if (width + cells(cp) > columns - 2) break;
    width += cells(cp);
    out += String.fromCodePoint(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return out + "…" + (line.includes("\x1b") ? "\x1b[0m" : "");
}

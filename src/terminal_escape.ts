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
  );
}

/**
 * sudo's include rules: where an include directive is (as sudo's lexer
 * finds one), the path it names (quotes, escapes, continuations, `%h`),
 * and which names an `@includedir` reads.
 *
 * @module
 */

/** An include directive at the start of a physical line. */
export interface IncludeKeyword {
  dir: boolean;
  /** Where the directive's argument starts. */
  at: number;
}

/** Characters that end a word in sudo's lexer (its WORD pattern), besides blanks. */
const WORD_ENDS = '#>!=:,()"\r';

/**
 * The include directive `line` starts, or undefined. As in sudo's lexer:
 * `#include` and `#includedir` only at the very start of a line and followed
 * by a blank (an indented `#include`, or `#include"x"`, is a comment), while
 * `@include` and `@includedir` may be indented and need no blank after them
 * when the next character ends a word (`@include"x"`, or a continuation);
 * `@include/x` is a single word, not an include.
 */
export function includeKeyword(line: string): IncludeKeyword | undefined {
  const hash = /^#include(dir)?[ \t]/.exec(line);
  if (hash) return { dir: hash[1] !== undefined, at: hash[0].length - 1 };
  const at = /^[ \t]*@include(dir)?/.exec(line);
  if (!at) return undefined;
  const end = at[0].length;
  const c = line[end];
  const ends = c === undefined || c === " " || c === "\t" || WORD_ENDS.includes(c) ||
    (c === "\\" && (end + 1 === line.length || line[end + 1] === "\t"));
  return ends ? { dir: at[1] !== undefined, at: end } : undefined;
}

/** The path an include directive names (unexpanded), or why it names none. */
export interface IncludeArgument {
  path?: string;
  /** A syntax error: no path, or text after it (sudo still includes the path then). */
  error?: string;
  /** The physical lines the directive took, joined: for the report of a bad one. */
  text: string;
}

const isBlank = (c: string | undefined) => c === " " || c === "\t";
/** sudo's `[[:space:]]`: where an unquoted include path ends. */
const isSpace = (c: string | undefined) =>
  c === " " || c === "\t" || c === "\v" || c === "\f" || c === "\r";

/** Whether `s` from `i` is `\` then blanks to the end (a line continuation). */
function continuation(s: string, i: number): boolean {
  if (s[i] !== "\\") return false;
  for (let j = i + 1; j < s.length; j++) if (!isBlank(s[j])) return false;
  return true;
}

/**
 * sudo's unescaping of a word (its `fill`): `\xHH` is that character, `\c`
 * is `c`, a final `\` stays; a NUL ends the C string.
 */
function unescape(w: string): string {
  let out = "";
  for (let i = 0; i < w.length; i++) {
    const c = w[i];
    if (c === "\\" && i + 1 < w.length) {
      const hex = /^x[0-9A-Fa-f]{2}/.exec(w.slice(i + 1, i + 4));
      if (hex) {
        out += String.fromCharCode(parseInt(hex[0].slice(1), 16));
        i += 3;
      } else {
        out += w[++i];
      }
    } else {
      out += c;
    }
  }
  const nul = out.indexOf("\0");
  return nul < 0 ? out : out.slice(0, nul);
}

/**
 * Reads an include directive's argument from `line` at `at`, as sudo's lexer
 * does: blanks and continuations (`\` at the end of a line) before the path,
 * then a `"…"` string (where only `\"` is an escape and a continuation joins
 * the lines with nothing) or a word up to a space (`\ ` joins, `\xHH` and
 * `\c` are unescaped); then only blanks, continuations or a comment.
 * `next` gives the following physical line (undefined at the end).
 */
export function includeArgument(
  line: string,
  at: number,
  next: () => string | undefined,
): IncludeArgument {
  let s = line;
  let i = at;
  let text = line;
  const more = (): boolean => {
    const n = next();
    if (n === undefined) return false;
    s = n;
    i = 0;
    text += "\n" + n;
    return true;
  };
  /** Skips blanks and continuations; false at the end of the input. */
  const skip = (): boolean => {
    for (;;) {
      while (isBlank(s[i])) i++;
      if (!continuation(s, i)) return true;
      if (!more()) return false;
    }
  };
  if (!skip() || i >= s.length) return { error: "include without a path", text };
  let path = "";
  if (s[i] === '"') {
    i++;
    for (;;) {
      if (i >= s.length) return { error: "include path: unexpected line break in string", text };
      const c = s[i];
      if (c === '"') break;
      if (c === "\\" && s[i + 1] === '"') {
        path += '"';
        i += 2;
      } else if (continuation(s, i)) {
        if (!more()) return { error: "include path: continuation at the end of the file", text };
        while (isBlank(s[i])) i++;
      } else {
        path += c;
        i++;
      }
    }
    i++;
    if (path === "") return { error: "include path: empty string", text };
  } else {
    const start = i;
    while (i < s.length && !isSpace(s[i])) i += s[i] === "\\" && isBlank(s[i + 1]) ? 2 : 1;
    path = unescape(s.slice(start, i));
  }
  if (path === "") return { error: "include without a path", text };
  if (!skip()) return { path, error: "continuation at the end of the file", text };
  const rest = s.slice(i);
  if (rest === "" || /^#(?!-?[0-9])/.test(rest)) return { path, text };
  return { path, error: "unexpected text after the include path", text };
}

/** `%h` in an include path is the short host name (left as written when unknown). */
export function expandInclude(path: string, hostname: string | undefined): string {
  return hostname === undefined ? path : path.replaceAll("%h", hostname);
}

/**
 * True for a file name sudo's `@includedir` skips: one ending in `~` or
 * holding a `.` (editor backups, `.dpkg-old`, `README.md`). An explicit
 * `@include` of such a file is still read.
 */
export function sudoSkipsInDir(name: string): boolean {
  return name.endsWith("~") || name.includes(".");
}

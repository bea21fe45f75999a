/**
 * The colon-separated databases (passwd, shadow, group, gshadow), read the
 * way glibc's files backend (`getpwnam`, `getspnam`, `getgrnam`,
 * `getsgnam`) reads them, so that bpfink sees every account the system
 * sees. The rules below were found by experiment with `getent` on a copy
 * bind-mounted over the real file, and are checked the same way by
 * `nss_differential_test.ts`:
 *
 * - The file is read as bytes, as C reads it: every rule below counts and
 *   copies bytes, and only the fields it returns are decoded, as bpfink
 *   shows file paths (`displayPath`): UTF-8, each byte that is not valid
 *   UTF-8 as `\xNN` and a backslash doubled, so that names of different
 *   bytes never read alike (`a\xffb` and `a\xfeb` are two accounts, and
 *   neither is the ASCII name `a\\xffb`). {@link databaseLines} takes the
 *   file's bytes; given text, it reads the text's UTF-8 bytes.
 * - A line ends at a newline or at the first NUL byte (a C string). A
 *   trailing `\r` is part of the last field (`/bin/sh\r` is a shell).
 * - Leading white space (space, TAB, `\n\v\f\r`) is skipped; a line that is
 *   then empty or starts with `#` is no entry. (On a line cut by a NUL or
 *   the last line without a newline, glibc then repeats the line's last
 *   bytes, as many as it skipped: reproduced, see `databaseLines`.)
 * - Text fields run to the next `:`; a missing text field at the end of the
 *   line is empty (`alice:x:0:0` is an account with uid 0 and no shell).
 *   The last text field of passwd (the shell) and the last list of group
 *   and gshadow (the members) run to the end of the line, colons included.
 * - Any name is a name: empty, with blanks, TABs or control characters,
 *   starting with `+` or `-` (under the files backend a `+name` line is an
 *   account named `+name`).
 * - Numbers are read like C's `strtoul`: white space, then an optional `+`
 *   or `-`, then decimal digits (at least one), computed modulo 2⁶⁴
 *   (`-0` is 0, `-18446744073709551615` is 1); a value above 2³²−1 or a
 *   number followed by anything but `:` or the end of the line rejects the
 *   line. A required number (uid, gid) missing rejects the line.
 *
 * @module
 */
import { capText, type ParseError, pushError } from "./parse_result.ts";
import { decodePathBytes, displayPath } from "../watch/path_bytes.ts";

/** The portable user or group name: letters, digits, `_ . @ -` (not first), an optional trailing `$`. */
const PORTABLE_NAME = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*\$?$/;

/** C's `isspace` in the C locale. */
export function isCSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
}

/**
 * `input` as a byte string: one UTF-16 unit (0–255) per byte, the way the C
 * library sees the file. Text stands for its UTF-8 bytes.
 */
export function byteString(input: string | Uint8Array): string {
  if (typeof input === "string") {
    if (!NON_ASCII.test(input)) return input;
    input = new TextEncoder().encode(input);
  }
  let out = "";
  for (let i = 0; i < input.length; i += 0x8000) {
    out += String.fromCharCode(...input.subarray(i, i + 0x8000));
  }
  return out;
}

const NON_ASCII = /[\x80-\uffff]/;
const utf8Decoder = new TextDecoder();
const toBytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/**
 * A piece of a {@link byteString} as a field shows it: decoded as UTF-8,
 * each byte that is not valid UTF-8 as `\xNN` and a backslash doubled
 * (`displayPath`'s escaping). Different bytes give different text, so two
 * names that differ only in invalid bytes are two names in every event,
 * key and message, and no field holds U+FFFD or a lone surrogate.
 */
export function decodeBytes(s: string): string {
  if (NON_ASCII.test(s)) return displayPath(decodePathBytes(toBytes(s)));
  return s.includes("\\") ? s.replaceAll("\\", "\\\\") : s;
}

/**
 * A password field's bytes, decoded as UTF-8 (an invalid sequence as
 * U+FFFD): the text its keyed fingerprint has always been taken of, so a
 * hash keeps its fingerprint. It is never shown.
 */
function decodeSecret(s: string): string {
  return NON_ASCII.test(s) ? utf8Decoder.decode(toBytes(s)) : s;
}

/**
 * One line the C library would parse: its 1-based number and its bytes
 * (from its first non-blank) as a {@link byteString}.
 */
export interface DatabaseLine {
  line: number;
  text: string;
  /**
   * Where glibc's repeat quirk (see {@link databaseLines}) applies: from
   * index `from` on, `text[i]` is a copy of `text[i - shift]`. Absent when
   * nothing is repeated.
   */
  echo?: Echo;
}

/** The repeated tail of a line: byte `text[i]` for `i >= from` copies `text[i - shift]`. */
export interface Echo {
  from: number;
  shift: number;
}

/**
 * The lines glibc parses in `input` (the file's bytes, or text standing
 * for its UTF-8 bytes): each cut at its first NUL, leading white space
 * skipped, blank and `#` lines left out, `\r` kept. Lazy: a file of 16
 * million empty lines costs no memory. Bytes beyond `MAX_TEXT_CHARS` are
 * reported and ignored, cut at a line end.
 */
export function* databaseLines(
  input: string | Uint8Array,
  errors: ParseError[],
): Generator<DatabaseLine> {
  const body = capText(byteString(input), errors);
  let n = 0;
  for (let start = 0; start < body.length;) {
    let end = body.indexOf("\n", start);
    if (end < 0) end = body.length;
    n++;
    const physical = body.slice(start, end);
    const newline = end < body.length;
    start = end + 1;
    // What the C library's line buffer holds: the line up to a NUL, or the
    // line and its newline.
    const nul = physical.indexOf("\0");
    const buf = nul >= 0 ? physical.slice(0, nul) : newline ? physical + "\n" : physical;
    let k = 0;
    while (k < buf.length && isCSpace(buf[k])) k++;
    if (k === buf.length || buf[k] === "#") continue;
    // glibc quirk: skipping k leading blanks moves the text left but leaves
    // the buffer's last k bytes in place, so a line without a newline in
    // its buffer (cut by a NUL, or the last line) is read with its last k
    // bytes repeated, which may be half a character: "  a:x:0:0::/:/bin/sh"
    // at the end of the file has the shell "/bin/sh/sh". Reproduced so
    // bpfink reads what login reads.
    let t = k === 0 ? buf : buf.slice(k) + buf.slice(buf.length - k);
    const cut = t.indexOf("\n");
    if (cut >= 0) t = t.slice(0, cut);
    const from = buf.length - k;
    yield k > 0 && from < t.length ? { line: n, text: t, echo: { from, shift: k } } : {
      line: n,
      text: t,
    };
  }
}

/** 2⁶⁴ − 1: what `strtoul` returns on overflow. */
const ULONG_MAX = (1n << 64n) - 1n;
const UINT32_MAX = 0xffffffff;

/** What stands in a field for characters glibc copied there from the password field. */
export const ECHOED_PASSWORD = "[password]";

/**
 * A cursor over one line's fields with glibc's field rules. Every method
 * consumes input; a method returning `undefined` means "glibc rejects the
 * line". The line is a {@link byteString}; the fields it returns are
 * decoded ({@link decodeBytes}), the password field as UTF-8 alone.
 *
 * The password field is read with {@link secret}. Where glibc's repeat
 * quirk copies characters of it into a later text field (`name:HASH`
 * as the last line, after leading blanks, reads part of `HASH` again at
 * the line's end), {@link text} and {@link rest} show {@link ECHOED_PASSWORD}
 * in their place, {@link echoedSecret} turns true and `onEchoed` is
 * called once: a password never leaves its field, whatever the line's
 * shape. (A number keeps glibc's value: digits copied from a hash into an
 * id are what the system reads.) Parsers make it with {@link fieldsOf}.
 */
export class FieldCursor {
  #i = 0;
  /** Positions of `s` that copy the password field: `[from, to)`. */
  #masked = { from: 0, to: 0 };
  #echoedSecret = false;
  constructor(readonly s: string, readonly echo?: Echo, readonly onEchoed?: () => void) {}

  /** True once a field read after the password held characters copied from it. */
  get echoedSecret(): boolean {
    return this.#echoedSecret;
  }

  /** True at the end of the line. */
  get atEnd(): boolean {
    return this.#i >= this.s.length;
  }

  /** A text field: up to the next `:` (consumed) or the end; empty at the end. */
  text(): string {
    let j = this.s.indexOf(":", this.#i);
    if (j < 0) j = this.s.length;
    const out = this.#shown(this.#i, j);
    this.#i = j < this.s.length ? j + 1 : j;
    return out;
  }

  /**
   * The password field, read as {@link text}; what later fields copy of
   * it is hidden from then on. The caller must not show what it returns.
   */
  secret(): string {
    const from = this.#i;
    let j = this.s.indexOf(":", from);
    if (j < 0) j = this.s.length;
    const out = decodeSecret(this.s.slice(from, j));
    this.#i = j < this.s.length ? j + 1 : j;
    if (this.echo) {
      const { from: echoFrom, shift } = this.echo;
      this.#masked = { from: Math.max(echoFrom, from + shift), to: j + shift };
    }
    return out;
  }

  /** The rest of the line, colons included. */
  rest(): string {
    const out = this.#shown(this.#i, this.s.length);
    this.#i = this.s.length;
    return out;
  }

  /** `s[from, to)`, decoded, with the copies of the password field replaced. */
  #shown(from: number, to: number): string {
    const m = this.#masked;
    const a = Math.max(from, m.from);
    const b = Math.min(to, m.to);
    if (a >= b) return decodeBytes(this.s.slice(from, to));
    if (!this.#echoedSecret) this.onEchoed?.();
    this.#echoedSecret = true;
    return decodeBytes(this.s.slice(from, a)) + ECHOED_PASSWORD + decodeBytes(this.s.slice(b, to));
  }

  /** Skips C white space. */
  skipSpace(): void {
    while (this.#i < this.s.length && isCSpace(this.s[this.#i])) this.#i++;
  }

  /**
   * A required number (uid, gid): `strtoul` rules, at most 2³²−1, followed
   * by `:` (consumed) or the end (or only the end when `last`).
   */
  number(last = false): number | undefined {
    const r = strtoul(this.s, this.#i);
    if (r === undefined || r.value > UINT32_MAX) return undefined;
    const next = this.s[r.end];
    if (next === ":" && !last) this.#i = r.end + 1;
    else if (next === undefined) this.#i = r.end;
    else return undefined;
    return r.value;
  }

  /**
   * An optional number: an empty field (a `:` here) gives `empty`, the end
   * of the line rejects, anything else is read as {@link number}.
   * `null` is "rejected" (undefined is a legitimate `empty`).
   */
  optionalNumber<T>(empty: T, last = false): number | T | null {
    if (this.atEnd) return null;
    if (this.s[this.#i] === ":" && !last) {
      this.#i++;
      return empty;
    }
    return this.number(last) ?? null;
  }
}

/**
 * C's `strtoul(s + at, &end, 10)`: white space, a sign, digits; the value
 * modulo 2⁶⁴ (negated for `-`), saturated to 2⁶⁴−1 on overflow. Undefined
 * when there is no digit (glibc then rejects the line). Linear in the
 * digits; exact where it matters (a value ≤ 2³²−1 after negation).
 */
export function strtoul(s: string, at: number): { value: number; end: number } | undefined {
  let i = at;
  while (i < s.length && isCSpace(s[i])) i++;
  let negative = false;
  if (s[i] === "+" || s[i] === "-") negative = s[i++] === "-";
  const digitsFrom = i;
  while (i < s.length && s[i] >= "0" && s[i] <= "9") i++;
  if (i === digitsFrom) return undefined;
  let first = digitsFrom;
  while (first < i - 1 && s[first] === "0") first++;
  let v: bigint;
  if (i - first > 20) v = ULONG_MAX;
  else {
    v = BigInt(s.slice(first, i));
    if (v > ULONG_MAX) v = ULONG_MAX;
    else if (negative && v !== 0n) v = (1n << 64n) - v;
  }
  // Above 2³²−1 only "too large" matters: no caller accepts it.
  return { value: v > BigInt(UINT32_MAX) ? UINT32_MAX + 1 : Number(v), end: i };
}

/** True for a `+name` or `-name` entry (NIS compat under `compat`, a plain name under `files`). */
export function isCompatName(name: string): boolean {
  return name.startsWith("+") || name.startsWith("-");
}

/** Warns about a name that is not portable (it is kept: glibc returns it). */
export function checkName(name: string, what: string, line: number, errors: ParseError[]): void {
  if (PORTABLE_NAME.test(name)) return;
  pushError(errors, {
    line,
    message: isCompatName(name)
      ? `${what} entry is a NIS compat line: read as an entry of that name (as the files backend does)`
      : `${what} entry has an unusual name (kept)`,
  });
}

/**
 * A comma-separated list as glibc splits it: leading white space of each
 * item skipped, empty items dropped, trailing white space kept.
 */
export function memberList(s: string): string[] {
  const out: string[] = [];
  for (const raw of s.split(",")) {
    let k = 0;
    while (k < raw.length && isCSpace(raw[k])) k++;
    if (k < raw.length) out.push(raw.slice(k));
  }
  return out;
}

/** The warning for an entry in which glibc reads part of the password field again (shown hidden). */
const ECHOED_SECRET_MESSAGE =
  "entry starts with blanks and ends without a newline, so the C library reads part of the password field again at its end: kept, that part shown as " +
  ECHOED_PASSWORD;

/**
 * A cursor over line `l` of a `what` file (passwd, shadow, group,
 * gshadow) whose hidden password copies are warned about in `errors`.
 */
export function fieldsOf(l: DatabaseLine, what: string, errors: ParseError[]): FieldCursor {
  return new FieldCursor(
    l.text,
    l.echo,
    () => pushError(errors, { line: l.line, message: `${what} ${ECHOED_SECRET_MESSAGE}` }),
  );
}

/** The message for a line glibc rejects (never quoting it: it may hold a hash). */
export function rejected(what: string, why: string): string {
  return `${what} entry ignored by the C library too: ${why}`;
}

/**
 * Whether a file's content may hold a password hash, told by the read as it
 * tells a NUL byte (`FileState.contentMayHoldHash`); native/hash_sniff.h is
 * its twin in the hashing workers, and must say the same for every input.
 * It says yes for any of:
 * - a `$`, 1 to 14 digits, lower-case letters or `-`, and a `$` or `,` (the
 *   modular crypt format's `$6$`, `$argon2id$`, `$md5,rounds=`);
 * - a `{`, one of `SMCPA` in either case and 1 to 15 letters, digits or
 *   `-`, a `}`, and 8 characters of base64 or `$.,:-` (LDAP's `{SSHA}...`);
 * - a line whose first `:`-separated field is not empty and has no blank, and
 *   whose second, after any `!` and `*`, is 13 + 11k characters of
 *   `[./0-9A-Za-z]` (DES, bigcrypt) or `_` and 19 of them (BSDi), up to the
 *   next `:` or the line's end (a `\r` before the `\n` counts as its end),
 *   and does not start `//` (a URL's).
 *
 * A yes costs an exact look before the content is kept or shown
 * (src/consumers/password_hashes.ts); a no lets the bytes be kept as they are.
 *
 * @module
 */

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isAlnum = (c: number) => isDigit(c) || isUpper(c) || isLower(c);
/** The first letters of LDAP's schemes ({SSHA}, {MD5}, {CRYPT}, {PBKDF2}, {ARGON2}), either case. */
const BRACED_FIRST = new Set([..."SsMmCcPpAa"].map((c) => c.charCodeAt(0)));
/** What follows a scheme: base64 and the modular format's characters. */
const BRACED_VALUE = new Set(
  [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=$.,:-"].map((c) =>
    c.charCodeAt(0)
  ),
);
const isCryptChar = (c: number) =>
  c === 0x2e || c === 0x2f || isDigit(c) || isUpper(c) || isLower(c);

/** Whether [from, to) of `at` can be an account's name: not empty, no blank. */
function nameLike(at: (i: number) => number, from: number, to: number): boolean {
  if (from === to) return false;
  for (let i = from; i < to; i++) if (at(i) === 0x20 || at(i) === 0x09) return false;
  return true;
}

/**
 * Where the DES, bigcrypt or BSDi hash in field [from, to) of `at` starts,
 * or -1; never one that starts `//` (a URL's `scheme://host.name:port`).
 */
function desHashStart(at: (i: number) => number, from: number, to: number): number {
  if (to - from >= 2 && at(from) === 0x2f && at(from + 1) === 0x2f) return -1;
  let f = from;
  while (f < to && (at(f) === 0x21 || at(f) === 0x2a)) f++;
  const start = f;
  const len = to - f;
  if (len === 20 && at(f) === 0x5f) f++;
  else if (len < 13 || (len - 13) % 11 !== 0) return -1;
  for (; f < to; f++) if (!isCryptChar(at(f))) return -1;
  return start;
}

/**
 * Each line's second `:`-separated field, as [hash start, field end) when it
 * is a DES, bigcrypt or BSDi hash and the first can be an account's name.
 * `find(c, from)` is indexOf on the text.
 */
export function* desFields(
  length: number,
  at: (i: number) => number,
  find: (c: number, from: number) => number,
): Generator<[number, number]> {
  // The first ':' at or after the line's start, found once: a scan never goes back.
  let colon = find(0x3a, 0);
  for (let line = 0; line < length && colon >= 0;) {
    const nl = find(0x0a, line);
    const eol = nl < 0 ? length : nl;
    if (colon < line) colon = find(0x3a, line);
    if (colon >= 0 && colon < eol) {
      const c1 = colon;
      colon = find(0x3a, c1 + 1);
      const end = colon >= 0 && colon < eol
        ? colon
        : eol > c1 + 1 && at(eol - 1) === 0x0d
        ? eol - 1
        : eol;
      const start = nameLike(at, line, c1) ? desHashStart(at, c1 + 1, end) : -1;
      if (start >= 0) yield [start, end];
    }
    line = nl < 0 ? length : nl + 1;
  }
}

/** Whether `bytes` may hold a password hash (the rules above). */
export function mayHoldPasswordHash(bytes: Uint8Array): boolean {
  for (let p = bytes.indexOf(0x24); p >= 0; p = bytes.indexOf(0x24, p + 1)) {
    let q = p + 1;
    while (
      q < bytes.length && q - p <= 14 &&
      (isDigit(bytes[q]) || isLower(bytes[q]) || bytes[q] === 0x2d)
    ) q++;
    if (q > p + 1 && q < bytes.length && (bytes[q] === 0x24 || bytes[q] === 0x2c)) return true;
  }
  for (let p = bytes.indexOf(0x7b); p >= 0; p = bytes.indexOf(0x7b, p + 1)) {
    if (!BRACED_FIRST.has(bytes[p + 1])) continue;
    let q = p + 2;
    while (q < bytes.length && q - p <= 16 && (isAlnum(bytes[q]) || bytes[q] === 0x2d)) q++;
    if (q >= bytes.length || bytes[q] !== 0x7d) continue;
    let r = q + 1;
    while (r < bytes.length && r - q <= 8 && BRACED_VALUE.has(bytes[r])) r++;
    if (r - q > 8) return true;
  }
  const at = (i: number) => bytes[i];
  const find = (c: number, from: number) => bytes.indexOf(c, from);
  return !desFields(bytes.length, at, find).next().done;
}

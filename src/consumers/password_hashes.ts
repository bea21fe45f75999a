/**
 * Password hashes in text that is not a password file's: a copy of shadow
 * under another name (`shadow.edit`, a backup), a file sudoers includes, an
 * htpasswd, `/etc/security/opasswd`. Whatever a file is called and whatever
 * reads it, the text bpfink keeps (a line-diff snapshot, a parsed sudoers
 * or access.conf) and the lines it shows have every password hash replaced
 * by {@link REDACTED}; the password files' own consumers keep theirs as
 * keyed fingerprints (secret_files.ts).
 *
 * What counts as a hash:
 * - the modular crypt format, `$id$...` (yescrypt, sha512crypt, bcrypt,
 *   md5crypt, Apache's apr1, argon2, scrypt, ...);
 * - LDAP's `{SSHA}...` and its kin;
 * - in a line of `:`-separated fields, a second field of 13 + 11k characters
 *   of `[./0-9A-Za-z]` (DES, bigcrypt) or `_` and 19 of them (BSDi), after
 *   any `!` or `*` (locked), which stay.
 *
 * The read says whether its content may hold one (`contentMayHoldHash`,
 * src/watch/hash_sniff.ts): no means none of these can be there; yes means
 * {@link redactPasswordHashes} must look.
 *
 * @module
 */
import { desFields } from "../watch/hash_sniff.ts";

/** What a redacted hash becomes. */
export const REDACTED = "[redacted]";

/**
 * `$id$`, one to four `$`-separated fields (parameters, salt), and a last
 * one of 16 or more characters: the hash. Code such as Perl's `"$1$2$x"` or
 * an amount such as `$1,332` has no such last field.
 */
const MODULAR = new RegExp(
  String.raw`\$(?:1|2[abxy]?|3|5|6|7|y|gy|sha1|md5(?:,rounds=\d+)?|apr1|argon2(?:id|i|d)|` +
    String.raw`pbkdf2(?:-sha(?:1|256|512))?|scrypt|sm3)(?:\$[./0-9A-Za-z=,+-]*){1,4}` +
    String.raw`\$[./0-9A-Za-z+=]{16,}`,
  "g",
);
const BRACED =
  /\{(?:S?SHA(?:256|384|512)?|S?MD5|CRYPT|PBKDF2(?:-SHA(?:1|256|512))?|ARGON2|SSHA-?512)\}[A-Za-z0-9+/=$.,:-]{8,}/gi;

/** `text` with every password hash in it replaced by {@link REDACTED}. */
export function redactPasswordHashes(text: string): string {
  let out = text.replace(MODULAR, REDACTED).replace(BRACED, REDACTED);
  if (!out.includes(":")) return out;
  const at = (i: number) => out.charCodeAt(i);
  const find = (c: number, from: number) => out.indexOf(String.fromCharCode(c), from);
  const fields = [...desFields(out.length, at, find)];
  if (fields.length === 0) return out;
  let built = "";
  let from = 0;
  for (const [start, end] of fields) {
    built += out.slice(from, start) + REDACTED;
    from = end;
  }
  out = built + out.slice(from);
  return out;
}

/** `v` with password hashes redacted from every string in it (arrays and plain objects walked). */
export function redactPasswordHashesIn(v: unknown): unknown {
  if (typeof v === "string") return redactPasswordHashes(v);
  if (Array.isArray(v)) return v.map(redactPasswordHashesIn);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactPasswordHashesIn(x)]));
  }
  return v;
}

/**
 * /etc/shadow: `name:hash:lastchg:min:max:warn:inactive:expire:reserved`.
 * The hash is replaced by its state and a keyed fingerprint at once: it is
 * never stored in a returned value. The states are described in
 * `password_field.ts`.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { checkName, databaseLines, fieldsOf, isCompatName, rejected } from "../_colon_file.ts";
import { type ParseResult, pushError } from "../parse_result.ts";
import { type PasswordInfo, passwordInfo } from "../_password_field.ts";

/** One shadow entry, without its hash. Day counts are days since 1970-01-01. */
export interface ShadowEntry {
  name: string;
  /** State and keyed fingerprint; never the hash. Absent for a lone `+name`/`-name`. */
  password?: PasswordInfo;
  /** Day of the last password change (0: must change at next login). */
  lastChange?: number;
  minDays?: number;
  maxDays?: number;
  warnDays?: number;
  inactiveDays?: number;
  /** Day the account expires. */
  expireDay?: number;
  /** 1-based line number. */
  line: number;
}

/** Hex digits in a fingerprint: 128 bits, enough to tell "changed" and nothing more. */
const FINGERPRINT_HEX = 32;

/**
 * A keyed fingerprint function: HMAC-SHA256 under `key` (the per-host key),
 * cut to 32 hex digits. Equal secrets give equal tags on one host; without
 * the key a tag says nothing about the secret (no dictionary attack on a
 * stolen baseline).
 */
export function hmacFingerprint(key: Uint8Array): (secret: string) => string {
  return (secret) =>
    createHmac("sha256", key).update(secret).digest("hex").slice(0, FINGERPRINT_HEX);
}

/** An aging field as the C library stores it: a 32-bit int, -1 (or empty) meaning unset. */
function aging(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = v | 0;
  return n === -1 ? undefined : n;
}

/**
 * Parses shadow (its bytes, or text) as glibc's files backend does (rules: `colon_file.ts`):
 * the 9-field form, or the old 5-field form `name:hash:last:min:max`; an
 * empty aging field is unset, a value is read as an unsigned 32-bit number
 * stored as a signed int (`4294967295` is unset, like empty); a negative
 * or non-numeric value, or a line that ends inside the aging fields,
 * rejects the whole line (reported, skipped). `fingerprint` keys each hash
 * (see `hmacFingerprint`).
 */
export function parseShadow(
  text: string | Uint8Array,
  fingerprint: (secret: string) => string,
): ParseResult<ShadowEntry> {
  const errors: ParseResult<ShadowEntry>["errors"] = [];
  const entries: ShadowEntry[] = [];
  for (const l of databaseLines(text, errors)) {
    const { line } = l;
    const f = fieldsOf(l, "shadow", errors);
    const name = f.text();
    if (isCompatName(name) && f.atEnd) {
      checkName(name, "shadow", line, errors);
      entries.push({ name, lastChange: 0, minDays: 0, maxDays: 0, line });
      continue;
    }
    const hash = f.secret();
    const n: (number | undefined | null)[] = [];
    for (let k = 0; k < 3; k++) n.push(f.optionalNumber(undefined));
    if (!n.includes(null)) {
      f.skipSpace();
      if (!f.atEnd) {
        for (let k = 0; k < 3; k++) n.push(f.optionalNumber(undefined));
        // The reserved flag: a number that must end the line, or nothing.
        if (!f.atEnd && f.optionalNumber(undefined, true) === null) n.push(null);
      }
    }
    if (n.includes(null)) {
      pushError(errors, {
        line,
        message: rejected(
          "shadow",
          "an aging field is missing, negative, not a number or out of range",
        ),
      });
      continue;
    }
    checkName(name, "shadow", line, errors);
    const [last, min, max, warn, inactive, expire] = n as (number | undefined)[];
    entries.push({
      name,
      password: passwordInfo(hash, fingerprint),
      lastChange: aging(last),
      minDays: aging(min),
      maxDays: aging(max),
      warnDays: aging(warn),
      inactiveDays: aging(inactive),
      expireDay: aging(expire),
      line,
    });
  }
  return { entries, errors };
}

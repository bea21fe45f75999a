/**
 * /etc/shadow: `name:hash:lastchg:min:max:warn:inactive:expire:reserved`.
 * The hash is replaced by its state and a keyed fingerprint at once: it is
 * never stored in a returned value. The states are described in
 * `password_field.ts`.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { colonRecords, optionalNumber } from "./colon_file.ts";
import type { ParseResult } from "./parse_result.ts";
import { type PasswordInfo, passwordInfo } from "./password_field.ts";

/** One shadow entry, without its hash. Day counts are days since 1970-01-01. */
export interface ShadowEntry {
  name: string;
  /** State and keyed fingerprint; never the hash. */
  password: PasswordInfo;
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

/** Parses shadow text; `fingerprint` keys each hash (see `hmacFingerprint`). */
export function parseShadow(
  text: string,
  fingerprint: (secret: string) => string,
): ParseResult<ShadowEntry> {
  const errors: ParseResult<ShadowEntry>["errors"] = [];
  const entries: ShadowEntry[] = [];
  for (const { line, fields } of colonRecords(text, 9, "shadow", errors)) {
    const [name, hash, last, min, max, warn, inactive, expire] = fields;
    entries.push({
      name,
      password: passwordInfo(hash, fingerprint),
      lastChange: optionalNumber(last, "last change", line, errors),
      minDays: optionalNumber(min, "minimum age", line, errors),
      maxDays: optionalNumber(max, "maximum age", line, errors),
      warnDays: optionalNumber(warn, "warning period", line, errors),
      inactiveDays: optionalNumber(inactive, "inactivity period", line, errors),
      expireDay: optionalNumber(expire, "expiration date", line, errors),
      line,
    });
  }
  return { entries, errors };
}

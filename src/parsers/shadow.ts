/**
 * /etc/shadow: `name:hash:lastchg:min:max:warn:inactive:expire:reserved`.
 * The hash is replaced by its state and a keyed fingerprint at once.
 *
 * @module
 */
import { colonRecords, optionalNumber } from "./colon_file.ts";
import type { ParseResult } from "./parse_result.ts";
import { type PasswordInfo, passwordInfo } from "./password_field.ts";

/** One shadow entry, without its hash. */
export interface ShadowEntry {
  name: string;
  password: PasswordInfo;
  lastChange?: number;
  minDays?: number;
  maxDays?: number;
  warnDays?: number;
  inactiveDays?: number;
  expireDay?: number;
  line: number;
}

/** Parses shadow text; `fingerprint` keys each hash. */
export function parseShadow(
  text: string,
  fingerprint: (s: string) => string,
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

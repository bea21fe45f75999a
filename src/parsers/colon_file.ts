/**
 * The colon-separated databases (passwd, shadow, group, gshadow): numbered
 * records with a fixed field count. Comments and NIS compat lines (`+`/`-`)
 * are kept out of the records.
 *
 * @module
 */
import { numberedLines, type ParseError, pushError } from "./parse_result.ts";

/**
 * A user or group name: letters, digits, `_ . @ -` (not first), an optional
 * trailing `$` (Samba machine accounts), at most 256 characters. Anything else
 * (a shifted hash, binary) is reported, never echoed.
 */
const VALID_NAME = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]{0,255}\$?$/;

/** One record with its line. */
export interface ColonRecord {
  line: number;
  fields: string[];
}

/** Splits `text` into records of exactly `count` fields; other lines become errors. */
export function colonRecords(
  text: string,
  count: number,
  what: string,
  errors: ParseError[],
): ColonRecord[] {
  const out: ColonRecord[] = [];
  for (const { line, text: l } of numberedLines(text, errors)) {
    if (l.trim() === "" || l.startsWith("#")) continue;
    if (l.startsWith("+") || l.startsWith("-")) continue; // NIS compat: not a local entry
    const fields = l.split(":");
    if (fields.length !== count) {
      pushError(errors, {
        line,
        message: `${what} entry has ${fields.length} fields, expected ${count}`,
      });
      continue;
    }
    if (!VALID_NAME.test(fields[0])) {
      pushError(errors, { line, message: `${what} entry has an invalid name` });
      continue;
    }
    out.push({ line, fields });
  }
  return out;
}

/** Parses a decimal id field (uid, gid, days); undefined when not a valid number. */
export function parseId(s: string): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** Parses an optional number field (empty = undefined), reporting garbage. */
export function optionalNumber(
  s: string,
  field: string,
  line: number,
  errors: ParseError[],
): number | undefined {
  if (s === "") return undefined;
  if (/^-?\d{1,10}$/.test(s)) return Number(s);
  pushError(errors, { line, message: `${field} is not a number` });
  return undefined;
}

/** A comma-separated member list without empty items. */
export function memberList(s: string): string[] {
  return s.split(",").map((m) => m.trim()).filter((m) => m.length > 0);
}

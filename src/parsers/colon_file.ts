/**
 * The colon-separated databases (passwd, shadow, group, gshadow): numbered
 * records with a fixed field count. Comments and NIS compat lines (`+`/`-`)
 * are kept out of the records.
 *
 * @module
 */
import { numberedLines, type ParseError, pushError } from "./parse_result.ts";

/**
 * The portable user or group name: letters, digits, `_ . @ -` (not first),
 * an optional trailing `$` (Samba machine accounts). glibc itself accepts
 * any name, so other printable names are kept (an account named `r00t ` with
 * uid 0 must still be reported) with a warning.
 */
const PORTABLE_NAME = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*\$?$/;
/** True when `s` holds a control character (C0, DEL, C1): never in a name, never echoed. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
/** Longer names are refused (useradd allows 32). */
const MAX_NAME = 256;

/** One record with its line. */
export interface ColonRecord {
  line: number;
  fields: string[];
}

/**
 * Yields the records of exactly `count` fields in `text`; other lines become
 * errors that name the line but never quote it (it may hold a hash). Lazy,
 * so the caller's own errors stay in line order.
 */
export function* colonRecords(
  text: string,
  count: number,
  what: string,
  errors: ParseError[],
): Generator<ColonRecord> {
  for (const { line, text: l } of numberedLines(text, errors)) {
    if (l.trim() === "" || l.startsWith("#")) continue;
    // NIS compat (`+name`, `+@netgroup`, `-name`): not a local entry. Left to
    // the generic line diff, which sees every line.
    if (l.startsWith("+") || l.startsWith("-")) continue;
    const fields = splitColons(l, count);
    if (fields === undefined) {
      pushError(errors, {
        line,
        message: `${what} entry does not have ${count} fields`,
      });
      continue;
    }
    const name = fields[0];
    if (name === "" || name.length > MAX_NAME || hasControl(name)) {
      pushError(errors, { line, message: `${what} entry has an invalid name` });
      continue;
    }
    if (!PORTABLE_NAME.test(name)) {
      pushError(errors, { line, message: `${what} entry has an unusual name (kept)` });
    }
    yield { line, fields };
  }
}

/** Splits on `:` when there are exactly `count` fields (without splitting a line of 5000 colons). */
function splitColons(l: string, count: number): string[] | undefined {
  let colons = 0;
  for (let i = l.indexOf(":"); i >= 0; i = l.indexOf(":", i + 1)) {
    if (++colons >= count) return undefined;
  }
  return colons === count - 1 ? l.split(":") : undefined;
}

/** Parses a decimal id field (uid, gid); undefined unless 0 ≤ n ≤ 2³²−1. */
export function parseId(s: string): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** Parses an optional number field (empty = undefined), reporting garbage without quoting it. */
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

/** A comma-separated member list without empty items or surrounding blanks. */
export function memberList(s: string): string[] {
  return s.split(",").map((m) => m.trim()).filter((m) => m.length > 0);
}

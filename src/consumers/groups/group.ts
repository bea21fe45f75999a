/**
 * /etc/group: `name:password:gid:members`, read as glibc's files backend
 * reads it (rules: `colon_file.ts`): `wheel:x:0` is a group with gid 0 and
 * no members, members run to the end of the line. The password field
 * (normally `x`) is not kept: group passwords live in gshadow.
 *
 * @module
 */
import {
  checkName,
  databaseLines,
  fieldsOf,
  isCompatName,
  memberList,
  rejected,
} from "../_colon_file.ts";
import { type ParseResult, pushError } from "../parse_result.ts";

/** One group. */
export interface GroupEntry {
  name: string;
  gid: number;
  /** Supplementary members, in file order. */
  members: string[];
  /** 1-based line number. */
  line: number;
}

/** Parses group (its bytes, or text); lines the C library rejects (gid missing or not a number in 0..2³²−1) are reported and skipped. */
export function parseGroup(text: string | Uint8Array): ParseResult<GroupEntry> {
  const errors: ParseResult<GroupEntry>["errors"] = [];
  const entries: GroupEntry[] = [];
  for (const l of databaseLines(text, errors)) {
    const { line } = l;
    const f = fieldsOf(l, "group", errors);
    const name = f.text();
    const compat = isCompatName(name);
    if (compat && f.atEnd) {
      checkName(name, "group", line, errors);
      entries.push({ name, gid: 0, members: [], line });
      continue;
    }
    f.secret();
    const gid = compat ? f.optionalNumber(0) : f.number() ?? null;
    if (gid === null) {
      pushError(errors, {
        line,
        message: rejected("group", "gid missing, not a number or out of range"),
      });
      continue;
    }
    checkName(name, "group", line, errors);
    entries.push({ name, gid, members: memberList(f.rest()), line });
  }
  return { entries, errors };
}

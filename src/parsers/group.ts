/**
 * /etc/group: `name:password:gid:members`. The password field (normally
 * `x`) is not kept: group passwords live in gshadow.
 *
 * @module
 */
import { colonRecords, memberList, parseId } from "./colon_file.ts";
import { type ParseResult, pushError } from "./parse_result.ts";

/** One group. */
export interface GroupEntry {
  name: string;
  gid: number;
  /** Supplementary members, in file order. */
  members: string[];
  /** 1-based line number. */
  line: number;
}

/** Parses group text; lines whose gid is not a number in 0..2³²−1 are reported and skipped. */
export function parseGroup(text: string): ParseResult<GroupEntry> {
  const errors: ParseResult<GroupEntry>["errors"] = [];
  const entries: GroupEntry[] = [];
  for (const { line, fields } of colonRecords(text, 4, "group", errors)) {
    const [name, , gidS, members] = fields;
    const gid = parseId(gidS);
    if (gid === undefined) {
      pushError(errors, { line, message: "group entry: gid is not a number" });
      continue;
    }
    entries.push({ name, gid, members: memberList(members), line });
  }
  return { entries, errors };
}

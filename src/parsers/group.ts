/**
 * /etc/group: `name:password:gid:members`.
 *
 * @module
 */
import { colonRecords, memberList, parseId } from "./colon_file.ts";
import { type ParseResult, pushError } from "./parse_result.ts";

/** One group. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
  line: number;
}

/** Parses group text. */
export function parseGroup(text: string): ParseResult<GroupEntry> {
  const errors: ParseResult<GroupEntry>["errors"] = [];
  const entries: GroupEntry[] = [];
  for (const { line, fields } of colonRecords(text, 4, "group", errors)) {
    const [name, , gidS, members] = fields;
    const gid = parseId(gidS);
    if (gid === undefined) {
      pushError(errors, { line, message: `group entry ${name}: gid must be a number` });
      continue;
    }
    entries.push({ name, gid, members: memberList(members), line });
  }
  return { entries, errors };
}

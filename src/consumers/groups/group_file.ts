/**
 * What the groups consumer keeps of /etc/group: its entries as `getgrent`
 * reads them (`group.ts`: groups, names, per-line members) and its grants
 * as `initgroups` reads them (`initgroups.ts`: who holds which gid), in
 * one list, since the two readings differ.
 *
 * @module
 */
import { type GroupEntry, parseGroup } from "./group.ts";
import { type GidGrant, parseInitgroups } from "./initgroups.ts";
import type { ParseResult } from "../parse_result.ts";

/** An entry or a grant of a group file. */
export type GroupRecord = GroupEntry | GidGrant;

/** The entries and grants of a group file (its bytes, or text); the errors are the entries'. */
export function parseGroupFile(text: string | Uint8Array): ParseResult<GroupRecord> {
  const r = parseGroup(text);
  return { entries: [...r.entries, ...parseInitgroups(text)], errors: r.errors };
}

/** `records` split into entries and grants. */
export function splitRecords(
  records: readonly GroupRecord[],
): { entries: GroupEntry[]; grants: GidGrant[] } {
  const entries: GroupEntry[] = [];
  const grants: GidGrant[] = [];
  for (const r of records) {
    if ("grant" in r && r.grant === true) grants.push(r);
    else entries.push(r as GroupEntry);
  }
  return { entries, grants };
}

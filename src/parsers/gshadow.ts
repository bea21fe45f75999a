/**
 * /etc/gshadow: `name:password:admins:members`. The password is replaced by
 * its state and a keyed fingerprint at once (states: `password_field.ts`).
 *
 * @module
 */
import { colonRecords, memberList } from "./colon_file.ts";
import type { ParseResult } from "./parse_result.ts";
import { type PasswordInfo, passwordInfo } from "./password_field.ts";

/** One gshadow entry, without its password. */
export interface GshadowEntry {
  name: string;
  /** State and keyed fingerprint; never the hash. */
  password: PasswordInfo;
  /** Group administrators (may add and remove members with gpasswd). */
  admins: string[];
  members: string[];
  /** 1-based line number. */
  line: number;
}

/** Parses gshadow text; `fingerprint` keys each password hash. */
export function parseGshadow(
  text: string,
  fingerprint: (secret: string) => string,
): ParseResult<GshadowEntry> {
  const errors: ParseResult<GshadowEntry>["errors"] = [];
  const entries: GshadowEntry[] = [];
  for (const { line, fields } of colonRecords(text, 4, "gshadow", errors)) {
    const [name, pw, admins, members] = fields;
    entries.push({
      name,
      password: passwordInfo(pw, fingerprint),
      admins: memberList(admins),
      members: memberList(members),
      line,
    });
  }
  return { entries, errors };
}

/**
 * /etc/gshadow: `name:password:admins:members`, read as glibc reads it
 * (rules: `colon_file.ts`): every line is an entry, missing fields are
 * empty, members run to the end of the line. The password is replaced by
 * its state and a keyed fingerprint at once (states: `password_field.ts`).
 *
 * @module
 */
import { checkName, databaseLines, fieldsOf, isCompatName, memberList } from "../_colon_file.ts";
import type { ParseResult } from "../parse_result.ts";
import { type PasswordInfo, passwordInfo } from "../_password_field.ts";

/** One gshadow entry, without its password. */
export interface GshadowEntry {
  name: string;
  /** State and keyed fingerprint; never the hash. Absent for a lone `+name`/`-name`. */
  password?: PasswordInfo;
  /** Group administrators (may add and remove members with gpasswd). */
  admins: string[];
  members: string[];
  /** 1-based line number. */
  line: number;
}

/** Parses gshadow (its bytes, or text); `fingerprint` keys each password hash. */
export function parseGshadow(
  text: string | Uint8Array,
  fingerprint: (secret: string) => string,
): ParseResult<GshadowEntry> {
  const errors: ParseResult<GshadowEntry>["errors"] = [];
  const entries: GshadowEntry[] = [];
  for (const l of databaseLines(text, errors)) {
    const { line } = l;
    const f = fieldsOf(l, "gshadow", errors);
    const name = f.text();
    checkName(name, "gshadow", line, errors);
    if (isCompatName(name) && f.atEnd) {
      entries.push({ name, admins: [], members: [], line });
      continue;
    }
    const pw = f.secret();
    const admins = memberList(f.text());
    entries.push({
      name,
      password: passwordInfo(pw, fingerprint),
      admins,
      members: memberList(f.rest()),
      line,
    });
  }
  return { entries, errors };
}

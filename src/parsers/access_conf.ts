/**
 * /etc/security/access.conf (pam_access): `permission : users : origins`,
 * permission `+` or `-`.
 *
 * @module
 */
import { numberedLines, type ParseResult, pushError } from "./parse_result.ts";

/** One access rule. */
export interface AccessRule {
  permission: "+" | "-";
  users: string;
  origins: string;
  /** `+ : root : LOCAL`, whitespace normalised: the identity used for diffs. */
  canonical: string;
  line: number;
}

const norm = (s: string) => s.trim().split(/\s+/).join(" ");

/** Parses access.conf text; `separator` is pam_access's fieldsep (default `:`). */
export function parseAccessConf(text: string, separator = ":"): ParseResult<AccessRule> {
  const errors: ParseResult<AccessRule>["errors"] = [];
  const entries: AccessRule[] = [];
  for (const { line, text: raw } of numberedLines(text, errors)) {
    const l = raw.trim();
    if (l === "" || l.startsWith("#")) continue;
    const parts = l.split(separator);
    if (parts.length !== 3) {
      pushError(errors, { line, message: `access rule has ${parts.length} fields, expected 3` });
      continue;
    }
    const permission = parts[0].trim();
    if (permission !== "+" && permission !== "-") {
      pushError(errors, { line, message: `access rule permission must be + or -` });
      continue;
    }
    const users = norm(parts[1]);
    const origins = norm(parts[2]);
    if (!users || !origins) {
      pushError(errors, { line, message: "access rule has an empty users or origins field" });
      continue;
    }
    entries.push({
      permission,
      users,
      origins,
      canonical: `${permission} : ${users} : ${origins}`,
      line,
    });
  }
  return { entries, errors };
}

/**
 * /etc/security/access.conf (pam_access): `permission : users : origins`,
 * permission `+` (grant) or `-` (deny), first match wins.
 *
 * Read the way pam_access reads it, so that what bpfink reports is what
 * pam_access enforces:
 * - a comment is a line whose first character is `#` (an indented `#` is a
 *   malformed rule, not a comment);
 * - fields are split at the field separator characters (`fieldsep=`,
 *   default `:`), empty fields are skipped, and the origins field is the
 *   rest of the line, so it may hold the separator (`::1`);
 * - the permission field must start with `+` or `-`;
 * - pam_access reads lines in chunks of 8191 bytes and skips a chunk that
 *   does not end in a newline: a longer line is skipped except for its last
 *   chunk, which is parsed as a line of its own, and a last line without a
 *   newline is skipped. Both are reported; the last chunk of a long line is
 *   kept as a rule, as pam_access would use it;
 * - users and origins are lists separated by any of `, \t` (`listsep=`).
 *
 * @module
 */
import { MAX_TEXT_CHARS, type ParseResult, pushError } from "../parse_result.ts";

/** One access rule. */
export interface AccessRule {
  permission: "+" | "-";
  /** The users list, items separated by one space (e.g. `ALL EXCEPT root`). */
  users: string;
  /** The origins list, items separated by one space (e.g. `LOCAL ::1`). */
  origins: string;
  /** `+ : root : LOCAL`, whitespace normalised: the identity used for diffs and messages. */
  canonical: string;
  /** 1-based line number. */
  line: number;
}

/** pam_access's line buffer (BUFSIZ) less the terminating NUL: bytes read per chunk. */
const PAM_CHUNK = 8191;
const WHITESPACE = " \t\n\v\f\r";

/** The chunk pam_access would parse from one physical line, or why it skips the line. */
function pamLine(raw: string, newline: boolean): { text?: string; skipped?: string } {
  const full = newline ? raw + "\n" : raw;
  let chunk = full;
  let skipped: string | undefined;
  // Up to 2730 UTF-16 units always fit in 8191 UTF-8 bytes: encode only longer lines.
  if (full.length * 3 > PAM_CHUNK) {
    const bytes = new TextEncoder().encode(full);
    if (bytes.length > PAM_CHUNK) {
      const last = Math.floor((bytes.length - 1) / PAM_CHUNK) * PAM_CHUNK;
      chunk = new TextDecoder().decode(bytes.subarray(last));
      skipped = `line longer than ${PAM_CHUNK} bytes: pam_access skips its first ${last} bytes`;
    }
  }
  if (!chunk.endsWith("\n")) {
    return { skipped: "missing newline at the end of the file: pam_access skips this line" };
  }
  if (chunk.includes("\0")) return { skipped: "NUL byte: pam_access skips this line" };
  return { text: chunk, skipped };
}

/** strtok: the next token made of characters not in `delims`, from `at`. */
function strtok(s: string, at: number, delims: string): { token: string; end: number } | undefined {
  let i = at;
  while (i < s.length && delims.includes(s[i])) i++;
  if (i >= s.length) return undefined;
  let j = i;
  while (j < s.length && !delims.includes(s[j])) j++;
  return { token: s.slice(i, j), end: j };
}

function listItems(s: string, listSeparator: string): string[] {
  const out: string[] = [];
  for (let t = strtok(s, 0, listSeparator); t; t = strtok(s, t.end, listSeparator)) {
    out.push(t.token);
  }
  return out;
}

/**
 * Parses access.conf text. `separator` is pam_access's `fieldsep` (a set of
 * characters, default `:`), `listSeparator` its `listsep` (default `, \t`).
 */
export function parseAccessConf(
  text: string,
  separator = ":",
  listSeparator = ", \t",
): ParseResult<AccessRule> {
  const errors: ParseResult<AccessRule>["errors"] = [];
  const entries: AccessRule[] = [];
  let body = text;
  if (body.length > MAX_TEXT_CHARS) {
    body = body.slice(0, Math.max(0, body.lastIndexOf("\n", MAX_TEXT_CHARS) + 1));
    pushError(errors, {
      line: 0,
      message: `file longer than ${MAX_TEXT_CHARS} characters: the rest is ignored`,
    });
  }
  const sep = separator === "" ? ":" : separator;
  const shown = sep.includes(":") ? ":" : sep[0];
  let line = 0;
  for (let start = 0; start < body.length;) {
    let end = body.indexOf("\n", start);
    const newline = end >= 0;
    if (!newline) end = body.length;
    const raw = body.slice(start, end);
    start = end + 1;
    line++;
    const { text: chunk, skipped } = pamLine(raw, newline);
    if (skipped) pushError(errors, { line, message: skipped });
    if (chunk === undefined || chunk.startsWith("#")) continue;
    let stop = chunk.length;
    while (stop > 0 && WHITESPACE.includes(chunk[stop - 1])) stop--;
    const l = chunk.slice(0, stop);
    if (l === "") continue;
    const perm = strtok(l, 0, sep);
    const users = perm && strtok(l, perm.end, sep);
    const origins = users && users.end < l.length ? l.slice(users.end + 1) : "";
    if (!perm || !users || origins === "") {
      pushError(errors, { line, message: "bad field count: expected permission, users, origins" });
      continue;
    }
    const permission = perm.token[0];
    if (permission !== "+" && permission !== "-") {
      pushError(errors, { line, message: "bad first field: the permission must be + or -" });
      continue;
    }
    const userList = listItems(users.token, listSeparator);
    const originList = listItems(origins, listSeparator);
    if (userList.length === 0 || originList.length === 0) {
      pushError(errors, { line, message: "empty users or origins list: the rule never matches" });
      continue;
    }
    const u = userList.join(" ");
    const o = originList.join(" ");
    entries.push({
      permission,
      users: u,
      origins: o,
      canonical: `${permission} ${shown} ${u} ${shown} ${o}`,
      line,
    });
  }
  return { entries, errors };
}

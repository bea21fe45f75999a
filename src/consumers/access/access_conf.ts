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
 * - the permission field must start with `+` or `-`, but a matching rule
 *   grants only if the line's first character is `+` (pam_access looks at
 *   the line, not the field): `:+:root:ALL` denies root;
 * - pam_access reads lines in chunks of 8191 bytes (so bpfink counts the
 *   file's bytes: invalid UTF-8 decodes to text of another length) and skips a chunk that
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
  /** What a match does: `+` only when the line starts with `+`, as pam_access decides. */
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

const decoder = new TextDecoder();

/**
 * The chunk pam_access would parse from one physical line (its bytes, the
 * newline included when there is one), or why it skips the line.
 */
function pamLine(full: Uint8Array): { text?: string; skipped?: string } {
  let chunk = full;
  let skipped: string | undefined;
  if (full.length > PAM_CHUNK) {
    const last = Math.floor((full.length - 1) / PAM_CHUNK) * PAM_CHUNK;
    chunk = full.subarray(last);
    skipped = `line longer than ${PAM_CHUNK} bytes: pam_access skips its first ${last} bytes`;
  }
  if (chunk.at(-1) !== 0x0a) {
    return { skipped: "missing newline at the end of the file: pam_access skips this line" };
  }
  if (chunk.includes(0)) return { skipped: "NUL byte: pam_access skips this line" };
  // The separators and blanks are ASCII: decoding keeps every token whole.
  return { text: decoder.decode(chunk), skipped };
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

const encoder = new TextEncoder();

/**
 * Parses access.conf, given as its bytes (or as text, read as its UTF-8):
 * pam_access counts bytes. `separator` is pam_access's `fieldsep` (a set
 * of characters, default `:`), `listSeparator` its `listsep` (default
 * `, \t`).
 */
export function parseAccessConf(
  file: string | Uint8Array,
  separator = ":",
  listSeparator = ", \t",
): ParseResult<AccessRule> {
  const errors: ParseResult<AccessRule>["errors"] = [];
  const entries: AccessRule[] = [];
  let body = typeof file === "string" ? encoder.encode(file) : file;
  if (body.length > MAX_TEXT_CHARS) {
    body = body.subarray(0, Math.max(0, body.lastIndexOf(0x0a, MAX_TEXT_CHARS) + 1));
    pushError(errors, {
      line: 0,
      message: `file longer than ${MAX_TEXT_CHARS} bytes: the rest is ignored`,
    });
  }
  const sep = separator === "" ? ":" : separator;
  // Shown between fields: `:`, or a separator that does not read as a permission.
  const shown = sep.includes(":") ? ":" : [...sep].find((c) => c !== "+" && c !== "-") ?? sep[0];
  let line = 0;
  for (let start = 0; start < body.length;) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length - 1;
    const full = body.subarray(start, end + 1);
    start = end + 1;
    line++;
    const { text: chunk, skipped } = pamLine(full);
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
    if (perm.token[0] !== "+" && perm.token[0] !== "-") {
      pushError(errors, { line, message: "bad first field: the permission must be + or -" });
      continue;
    }
    // pam_access checks the first field, but a match grants only if the line's first
    // character is `+`: a field separator before the `+` makes the rule deny.
    const permission = l[0] === "+" ? "+" : "-";
    if (permission !== perm.token[0]) {
      pushError(errors, {
        line,
        message: `the line starts with a field separator: a match ${
          permission === "+" ? "grants" : "denies"
        } (pam_access looks at the line's first character, not the first field's)`,
      });
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

/**
 * /etc/passwd: `name:password:uid:gid:gecos:home:shell`, read as glibc's
 * files backend reads it (rules: `colon_file.ts`): `alice:x:0:0` is an
 * account with uid 0, ` 0`, `+0` and `-0` are uid 0, a shell may hold
 * colons, `+name` is an account named `+name`.
 *
 * @module
 */
import { checkName, databaseLines, fieldsOf, isCompatName, rejected } from "../_colon_file.ts";
import { type ParseResult, pushError } from "../parse_result.ts";
import { type PasswordInfo, passwordInfo } from "../_password_field.ts";

/** One account. */
export interface PasswdEntry {
  name: string;
  /**
   * Normally `shadowed` (`x`); a hash here is fingerprinted as in shadow.
   * Absent for a lone `+name` or `-name` (the C library returns no field).
   */
  password?: PasswordInfo;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
  /** 1-based line number. */
  line: number;
}

/**
 * Parses passwd (its bytes, or text). `fingerprint` keys any hash found in the password
 * field (legacy systems without shadow). Lines the C library rejects (a
 * uid or gid missing, not a number, above 2³²−1 or negative) are reported
 * and skipped; every line it accepts is an entry.
 */
export function parsePasswd(
  text: string | Uint8Array,
  fingerprint: (secret: string) => string,
): ParseResult<PasswdEntry> {
  const errors: ParseResult<PasswdEntry>["errors"] = [];
  const entries: PasswdEntry[] = [];
  for (const l of databaseLines(text, errors)) {
    const { line } = l;
    const f = fieldsOf(l, "passwd", errors);
    const name = f.text();
    const compat = isCompatName(name);
    if (compat && f.atEnd) {
      checkName(name, "passwd", line, errors);
      entries.push({ name, uid: 0, gid: 0, gecos: "", home: "", shell: "", line });
      continue;
    }
    const pw = f.secret();
    // For `+name` and `-name` lines an empty uid or gid is 0.
    const uid = compat ? f.optionalNumber(0) : f.number() ?? null;
    const gid = uid === null ? null : compat ? f.optionalNumber(0) : f.number() ?? null;
    if (uid === null || gid === null) {
      pushError(errors, {
        line,
        message: rejected(
          "passwd",
          `${uid === null ? "uid" : "gid"} missing, not a number or out of range`,
        ),
      });
      continue;
    }
    checkName(name, "passwd", line, errors);
    const gecos = f.text();
    const home = f.text();
    entries.push({
      name,
      password: passwordInfo(pw, fingerprint, true),
      uid,
      gid,
      gecos,
      home,
      shell: f.rest(),
      line,
    });
  }
  return { entries, errors };
}

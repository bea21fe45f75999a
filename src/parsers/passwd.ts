/**
 * /etc/passwd: `name:password:uid:gid:gecos:home:shell`.
 *
 * @module
 */
import { colonRecords, parseId } from "./colon_file.ts";
import { type ParseResult, pushError } from "./parse_result.ts";
import { type PasswordInfo, passwordInfo } from "./password_field.ts";

/** One account. */
export interface PasswdEntry {
  name: string;
  /** Normally `shadowed` (`x`); a hash here is fingerprinted as in shadow. */
  password: PasswordInfo;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
  /** 1-based line number. */
  line: number;
}

/**
 * Parses passwd text. `fingerprint` keys any hash found in the password
 * field (legacy systems without shadow). Lines with a uid or gid that is not
 * a number in 0..2³²−1 are reported and skipped.
 */
export function parsePasswd(
  text: string,
  fingerprint: (secret: string) => string,
): ParseResult<PasswdEntry> {
  const errors: ParseResult<PasswdEntry>["errors"] = [];
  const entries: PasswdEntry[] = [];
  for (const { line, fields } of colonRecords(text, 7, "passwd", errors)) {
    const [name, pw, uidS, gidS, gecos, home, shell] = fields;
    const uid = parseId(uidS);
    const gid = parseId(gidS);
    if (uid === undefined || gid === undefined) {
      pushError(errors, {
        line,
        message: `passwd entry: ${uid === undefined ? "uid" : "gid"} is not a number`,
      });
      continue;
    }
    entries.push({
      name,
      password: passwordInfo(pw, fingerprint, true),
      uid,
      gid,
      gecos,
      home,
      shell,
      line,
    });
  }
  return { entries, errors };
}

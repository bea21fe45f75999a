/**
 * /etc/group as glibc's `initgroups` and `getgrouplist` read it (what
 * login, `id` and sudo use for a user's supplementary gids), which is not
 * how `getgrent`/`getgrnam` read it (`group.ts`). Found by experiment with
 * `getent initgroups` and `id` on a copy bind-mounted over the real file
 * (glibc 2.36), and checked by `nss_differential_test.ts`:
 *
 * - EVERY line is parsed, comment lines included: `#sudo:x:27:trudy`
 *   gives trudy gid 27 (and `sudo -l` grants her `%sudo`), though
 *   `getent group` shows no such group.
 * - Leading blanks are not skipped (they are part of the name, so
 *   `  +e:x::alice` needs a gid: none), and a last line without a newline
 *   is read as it is (no repeated tail: `   a:x:27:alice` at the end of
 *   the file gives alice gid 27, where `getent group` shows `alicelice`).
 * - Otherwise the fields are read as `group.ts` reads them: cut at a NUL,
 *   a `+name`/`-name` line's empty gid is 0, members run to the end.
 *
 * @module
 */
import { byteString, fieldsOf, isCompatName, memberList } from "../_colon_file.ts";
import { capText, type ParseError } from "../parse_result.ts";

/** One line's grant: its members hold `gid`. */
export interface GidGrant {
  /** Tells a grant from a `GroupEntry` in a snapshot holding both. */
  grant: true;
  gid: number;
  /** The line's first field, as shown in messages (a comment line's starts with `#`). */
  name: string;
  members: string[];
  /** 1-based line number. */
  line: number;
}

/** The lines of `text` (the file's bytes, or text) that give members a gid, in file order. */
export function parseInitgroups(text: string | Uint8Array): GidGrant[] {
  const errors: ParseError[] = []; // reported by parseGroup already
  const body = capText(byteString(text), errors);
  const out: GidGrant[] = [];
  let n = 0;
  for (let start = 0; start < body.length;) {
    let end = body.indexOf("\n", start);
    if (end < 0) end = body.length;
    const physical = body.slice(start, end);
    start = end + 1;
    n++;
    const nul = physical.indexOf("\0");
    const f = fieldsOf(
      { line: n, text: nul >= 0 ? physical.slice(0, nul) : physical },
      "group",
      errors,
    );
    const name = f.text();
    if (f.atEnd) continue; // no gid: rejected, or a lone `+name` (gid 0, no members)
    f.secret();
    const gid = isCompatName(name) ? f.optionalNumber(0) : f.number() ?? null;
    if (gid === null) continue;
    const members = memberList(f.rest());
    if (members.length) out.push({ grant: true, gid, name, members, line: n });
  }
  return out;
}

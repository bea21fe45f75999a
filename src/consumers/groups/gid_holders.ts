/**
 * Who holds which gid, as the C library computes it from /etc/group (found
 * by experiment with `getent initgroups`, `getent group GID`, `id` and
 * `sudo -l -U` on a copy bind-mounted over the real file):
 *
 * - A user's supplementary gids (`initgroups`, `getgrouplist`, what `id`
 *   shows and login sets) come from EVERY line that lists the user as a
 *   member (as `initgroups.ts` reads lines: comment lines too),
 *   duplicates and `+name`/`-name` lines included: after
 *   `sudo:x:27:`, a line `wheel2:x:27:trudy` gives trudy gid 27, and
 *   `+e:x::trudy` gives trudy gid 0 (an empty gid of a `+` line is 0).
 * - Login, su, sshd and `id` call `initgroups(name, pw_gid)` with the gid
 *   of the FIRST passwd line of that name (`getpwnam`): that primary gid
 *   is in the list too, whether or not a group line names it
 *   (`alice:x:1000:27:…` holds gid 27 as `usermod -g sudo alice` gives
 *   it), and a later duplicate line's gid is not.
 * - The name of a gid (`getgrgid`, what `id` and sudo's `%group` matching
 *   see) is the name of the FIRST line with that gid, skipping `+name` and
 *   `-name` lines; a gid only such lines hold has no name.
 * - The gid of a name (`getgrnam`) is the gid of the first line with that
 *   name (again skipping `+`/`-` names).
 *
 * @module
 */
import { isCompatName } from "../_colon_file.ts";
import type { GroupEntry } from "./group.ts";
import type { PasswdEntry } from "../users/passwd.ts";

/**
 * Each user's supplementary gids (glibc's `initgroups`), from the grants
 * of every line (`initgroups.ts`: `parseInitgroups`).
 */
export function supplementaryGids(
  grants: readonly { gid: number; members: readonly string[] }[],
): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const g of grants) {
    for (const user of g.members) {
      let gids = out.get(user);
      if (!gids) out.set(user, gids = new Set());
      gids.add(g.gid);
    }
  }
  return out;
}

/** Each user's passwd entry as `getpwnam` returns it (the first line of the name), whose gid login holds. */
export function primaryEntries(passwd: readonly PasswdEntry[]): Map<string, PasswdEntry> {
  const out = new Map<string, PasswdEntry>();
  for (const e of passwd) if (!out.has(e.name)) out.set(e.name, e);
  return out;
}

/** The name of each gid as `getgrgid` returns it: the first line with that gid that is not a `+`/`-` line. */
export function gidNames(groups: readonly GroupEntry[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const g of groups) {
    if (!isCompatName(g.name) && !out.has(g.gid)) out.set(g.gid, g.name);
  }
  return out;
}

/** The gid of each name as `getgrnam` returns it: the first line with that name that is not a `+`/`-` line. */
export function nameGids(groups: readonly GroupEntry[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of groups) {
    if (!isCompatName(g.name) && !out.has(g.name)) out.set(g.name, g.gid);
  }
  return out;
}

/**
 * Which gids hold administrative power, decided by gid from the group file,
 * whichever name a line gives it. A gid is privileged when:
 *
 * - it is 0 (the root group);
 * - `getgrnam` gives it for an administrative group name (the first `sudo`
 *   line's gid is what `match_group_by_gid` sudo and every gid check use),
 *   so `wheel2:x:27:` after `sudo:x:27:` is just as privileged; or
 * - `getgrgid` names it after an administrative group (sudo's default
 *   `%sudo` matching resolves each of the user's gids to its name), so a
 *   second `sudo:x:1001:` line, the first with gid 1001, makes 1001
 *   privileged: `sudo -l -U` grants its holders `%sudo`'s rules.
 *
 * @module
 */
import { gidNames, nameGids } from "./gid_holders.ts";
import type { GroupEntry } from "./group.ts";

/** Groups whose members hold administrative power on common distributions. */
export const ADMIN_GROUP_NAMES: ReadonlySet<string> = new Set([
  "root",
  "sudo",
  "wheel",
  "adm",
  "admin",
  "shadow",
  "disk",
  "docker",
]);

/** The privileged gids of a group file (see the module doc). */
export function privilegedGids(groups: readonly GroupEntry[]): Set<number> {
  const out = new Set<number>([0]);
  for (const [name, gid] of nameGids(groups)) if (ADMIN_GROUP_NAMES.has(name)) out.add(gid);
  for (const [gid, name] of gidNames(groups)) if (ADMIN_GROUP_NAMES.has(name)) out.add(gid);
  return out;
}

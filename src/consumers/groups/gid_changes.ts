/**
 * Gids users gain and lose, whichever file changed: the gids a user holds
 * at login are glibc's `initgroups(name, pw_gid)`, the primary gid of the
 * user's passwd line together with the gid of every group line that lists
 * the user (`gid_holders.ts`), so a change to either file is judged here,
 * each gid at its level (`privileged_gids.ts`): joining gid 27 through a
 * duplicate `sudo` line, a `wheel2:x:27:` alias, or as the primary gid
 * (`usermod -g sudo alice`, `useradd -g 0 bob`) is as critical as being
 * added to the real `sudo` line. A user who keeps a gid that becomes
 * privileged (a new first line names it `sudo`) gains it too.
 *
 * @module
 */
import { type SemanticChange, shown } from "../semantic_change.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";
import { gidNames, primaryEntries, supplementaryGids } from "./gid_holders.ts";
import { type GroupRecord, splitRecords } from "./group_file.ts";
import type { GidGrant } from "./initgroups.ts";
import type { GroupEntry } from "./group.ts";
import { privilegedGids } from "./privileged_gids.ts";
import type { PasswdEntry } from "../users/passwd.ts";

/** The key of one user's gid gained or lost, for a {@link Told} check. */
export function gidKey(verb: "gained" | "lost", user: string, gid: number): string {
  return `${verb}\0${gid}\0${user}`;
}

/**
 * True when another event of the same diff already says that `user`
 * gained or lost `gid` (a per-line member event, a `user_added`), so that
 * {@link gidChanges} leaves it out. `privileged`: the gid is privileged.
 */
export type Told = (
  verb: "gained" | "lost",
  user: string,
  gid: number,
  privileged: boolean,
) => boolean;

/** The databases a user's gids come from at one moment, and where they are. */
export interface GidSources {
  /** The group file's records (`group_file.ts`); absent when it is not known. */
  group?: { records: readonly GroupRecord[]; file: string };
  /** passwd's entries (primary gids); absent when it is not known. */
  passwd?: { entries: readonly PasswdEntry[]; file: string };
}

/** How a user holds a gid: through a group line, or as the primary gid of a passwd line. */
type Via = { grant: GidGrant; file: string } | { primary: PasswdEntry; file: string };

/** One moment, as gids see it. */
interface GidView {
  holders: Map<string, Set<number>>;
  names: Map<number, string>;
  privileged: Set<number>;
  /** How a user holds a gid (the primary gid first, then the first line), by {@link gidKey}`("gained", ...)`. */
  via: Map<string, Via>;
}

/**
 * A snapshot an older bpfink kept has entries and no grants: its grants are
 * then its entries' members (getgrent's reading), so that the first change
 * after an upgrade does not report every member as gaining its gid.
 */
function grantsOf(entries: readonly GroupEntry[], grants: GidGrant[]): GidGrant[] {
  if (grants.length > 0 || !entries.some((e) => e.members.length > 0)) return grants;
  return entries.filter((e) => e.members.length > 0).map((e) => ({
    grant: true,
    gid: e.gid,
    name: e.name,
    members: e.members,
    line: e.line,
  }));
}

function view(s: GidSources): GidView {
  const split = splitRecords(s.group?.records ?? []);
  const entries = split.entries;
  const grants = grantsOf(entries, split.grants);
  const holders = supplementaryGids(grants);
  const via = new Map<string, Via>();
  if (s.passwd) {
    for (const [user, e] of primaryEntries(s.passwd.entries)) {
      let gids = holders.get(user);
      if (!gids) holders.set(user, gids = new Set());
      gids.add(e.gid);
      via.set(gidKey("gained", user, e.gid), { primary: e, file: s.passwd.file });
    }
  }
  for (const g of grants) {
    for (const user of g.members) {
      const key = gidKey("gained", user, g.gid);
      if (!via.has(key)) via.set(key, { grant: g, file: s.group!.file });
    }
  }
  return { holders, names: gidNames(entries), privileged: privilegedGids(entries), via };
}

/** The gids each user holds at login (`initgroups`) from `s`. */
export function heldGids(s: GidSources): Map<string, Set<number>> {
  return view(s).holders;
}

/**
 * The gids each user gained and lost from `before` to `after`, except
 * those `told` says another event already reports. The events name where
 * the gid comes from (a group line, or the primary gid of a passwd line)
 * and point their `source` there.
 */
export function gidChanges(
  before: GidSources,
  after: GidSources,
  told: Told = () => false,
): SemanticChange[] {
  const a = view(before);
  const b = view(after);
  const out: SemanticChange[] = [];
  const change = (
    verb: "gained" | "lost",
    user: string,
    gid: number,
    from: GidView,
    severity: SeverityLevel,
    message: string,
  ): SemanticChange => {
    const name = from.names.get(gid);
    const via = from.via.get(gidKey("gained", user, gid));
    const line = via && ("grant" in via ? via.grant.line : via.primary.line);
    return {
      action: `group_gid_${verb}`,
      subject: name ?? String(gid),
      message,
      fields: {
        group: { ...(name !== undefined ? { name } : {}), id: String(gid) },
        user: { name: user },
      },
      changes: [{ field: "gids", ...(verb === "gained" ? { to: gid } : { from: gid }) }],
      ...(via ? { source: { file: via.file, line } } : {}),
      severity,
    };
  };
  const described = (v: GidView, gid: number) => {
    const name = v.names.get(gid);
    const privileged = v.privileged.has(gid) ? ", privileged" : "";
    return `gid ${gid} (${name === undefined ? "no name" : shown(name)}${privileged})`;
  };
  const through = (v: GidView, user: string, gid: number) => {
    const via = v.via.get(gidKey("gained", user, gid));
    if (!via) return "";
    return "grant" in via
      ? ` through group ${shown(via.grant.name)} at line ${via.grant.line}`
      : ` as primary gid at passwd line ${via.primary.line}`;
  };
  for (const [user, gids] of b.holders) {
    const had = a.holders.get(user);
    for (const gid of gids) {
      const privileged = b.privileged.has(gid);
      if (had?.has(gid)) {
        if (!privileged || a.privileged.has(gid)) continue;
        out.push(change(
          "gained",
          user,
          gid,
          b,
          "critical",
          `${shown(user)} holds ${described(b, gid)}${
            through(b, user, gid)
          }, which is now privileged`,
        ));
        continue;
      }
      if (told("gained", user, gid, privileged)) continue;
      out.push(change(
        "gained",
        user,
        gid,
        b,
        privileged ? "critical" : "high",
        `${shown(user)} gains ${described(b, gid)}${through(b, user, gid)}`,
      ));
    }
  }
  for (const [user, gids] of a.holders) {
    const has = b.holders.get(user);
    for (const gid of gids) {
      const privileged = a.privileged.has(gid);
      if (has?.has(gid) || told("lost", user, gid, privileged)) continue;
      out.push(change(
        "lost",
        user,
        gid,
        a,
        privileged ? "high" : "medium",
        `${shown(user)} loses ${described(a, gid)}`,
      ));
    }
  }
  return out;
}

/**
 * Gids users gain and lose between two group files, whichever line they
 * come through (`gid_holders.ts`: glibc reads every line), each at the
 * level of the gid (`privileged_gids.ts`): joining gid 27 through a
 * duplicate `sudo` line or a `wheel2:x:27:` alias is as critical as being
 * added to the real `sudo` line. A user who keeps a gid that becomes
 * privileged (a new first line names it `sudo`) gains it too.
 *
 * @module
 */
import { type SemanticChange, shown } from "../semantic_change.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";
import { gidNames, supplementaryGids } from "./gid_holders.ts";
import { type GroupRecord, splitRecords } from "./group_file.ts";
import type { GidGrant } from "./initgroups.ts";
import type { GroupEntry } from "./group.ts";
import { privilegedGids } from "./privileged_gids.ts";

/** The key of one user's gid gained or lost, for {@link gidChanges}' `told`. */
export function gidKey(verb: "gained" | "lost", user: string, gid: number): string {
  return `${verb}\0${gid}\0${user}`;
}

/** One moment of a group file, as gids see it. */
interface GidView {
  holders: Map<string, Set<number>>;
  names: Map<number, string>;
  privileged: Set<number>;
  /** The first line through which a user holds a gid, by {@link gidKey}`("gained", ...)`. */
  lines: Map<string, GidGrant>;
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

function view(records: readonly GroupRecord[]): GidView {
  const split = splitRecords(records);
  const entries = split.entries;
  const grants = grantsOf(entries, split.grants);
  const lines = new Map<string, GidGrant>();
  for (const g of grants) {
    for (const user of g.members) {
      const key = gidKey("gained", user, g.gid);
      if (!lines.has(key)) lines.set(key, g);
    }
  }
  return {
    holders: supplementaryGids(grants),
    names: gidNames(entries),
    privileged: privilegedGids(entries),
    lines,
  };
}

/**
 * The gids each user gained and lost from `before` to `after` (the
 * entries and grants of the group file `file`), except those whose key ({@link gidKey}) is in `told`: a
 * per-line event already says them in full.
 */
export function gidChanges(
  before: readonly GroupRecord[],
  after: readonly GroupRecord[],
  file: string,
  told: ReadonlySet<string> = new Set(),
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
    const line = from.lines.get(gidKey("gained", user, gid));
    return {
      action: `group_gid_${verb}`,
      subject: name ?? String(gid),
      message,
      fields: {
        group: { ...(name !== undefined ? { name } : {}), id: String(gid) },
        user: { name: user },
      },
      changes: [{ field: "gids", ...(verb === "gained" ? { to: gid } : { from: gid }) }],
      ...(line ? { source: { file, line: line.line } } : {}),
      severity,
    };
  };
  const described = (v: GidView, gid: number) => {
    const name = v.names.get(gid);
    const privileged = v.privileged.has(gid) ? ", privileged" : "";
    return `gid ${gid} (${name === undefined ? "no name" : shown(name)}${privileged})`;
  };
  const through = (line: GidGrant | undefined) =>
    line ? ` through group ${shown(line.name)} at line ${line.line}` : "";
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
          `${shown(user)} holds ${described(b, gid)}, which is now privileged`,
        ));
        continue;
      }
      if (told.has(gidKey("gained", user, gid))) continue;
      const line = b.lines.get(gidKey("gained", user, gid));
      out.push(change(
        "gained",
        user,
        gid,
        b,
        privileged ? "critical" : "high",
        `${shown(user)} gains ${described(b, gid)}${through(line)}`,
      ));
    }
  }
  for (const [user, gids] of a.holders) {
    const has = b.holders.get(user);
    for (const gid of gids) {
      if (has?.has(gid) || told.has(gidKey("lost", user, gid))) continue;
      out.push(change(
        "lost",
        user,
        gid,
        a,
        a.privileged.has(gid) ? "high" : "medium",
        `${shown(user)} loses ${described(a, gid)}`,
      ));
    }
  }
  return out;
}

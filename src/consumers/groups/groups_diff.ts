/**
 * What changed for groups, from group and gshadow entries before and after:
 * groups added, removed and renumbered, members and administrators added
 * and removed (per line, in either file), the gids users gained and lost
 * through any line or their primary gid (`gid_changes.ts`, with passwd as
 * it stands), group passwords changed (by state; never a hash or a
 * fingerprint). A member or administrator added to a group whose gid is
 * privileged (`privileged_gids.ts`) is critical, whatever the line's name.
 *
 * gshadow's lists give power of their own, checked with shadow-utils 4.13
 * (`account_tools_test.ts`): a member there (`gpasswd -M`, `groupmems`)
 * may `newgrp` or `sg` into the group without a password even when
 * /etc/group does not list them, and an administrator (`gpasswd -A`) may
 * add anyone, themselves included, with `gpasswd -a`. gshadow has no gids:
 * a line's gid is the one `getgrnam` gives its name in the group file
 * beside it, as `newgrp` and `gpasswd` look it up.
 *
 * @module
 */
import { byName } from "../_by_name.ts";
import { type SemanticChange, shown, type SubjectFields } from "../semantic_change.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";
import { gidChanges, gidKey, heldGids } from "./gid_changes.ts";
import { gidNames, nameGids } from "./gid_holders.ts";
import { type GroupRecord, splitRecords } from "./group_file.ts";
import type { GshadowEntry } from "./gshadow.ts";
import { ADMIN_GROUP_NAMES, privilegedGids } from "./privileged_gids.ts";
import type { Peers } from "../paired_consumer.ts";
import type { PasswdEntry } from "../users/passwd.ts";

const groupFields = (name: string, gid?: number): SubjectFields => ({
  group: { name, ...(gid !== undefined ? { id: String(gid) } : {}) },
});

/** What a list change says after the group's name, by list: group's members say nothing more. */
const LIST_NOTE = {
  member: "",
  gshadowMember: " in gshadow (newgrp and sg give its gid without a password)",
  admin: " as administrator (gpasswd lets them change its members and password)",
} as const;

function listChanges(
  name: string,
  gid: number | undefined,
  before: string[],
  after: string[],
  list: keyof typeof LIST_NOTE,
  source: { file: string; line: number },
  /** The level of an addition (removals keep the default). */
  addedSeverity?: SeverityLevel,
): SemanticChange[] {
  const out: SemanticChange[] = [];
  const a = new Set(before);
  const b = new Set(after);
  const what = list === "admin" ? "admin" : "member";
  const change = (u: string, verb: "added" | "removed"): SemanticChange => ({
    action: `group_${what}_${verb}`,
    subject: name,
    message: `${shown(u)} ${verb} ${verb === "added" ? "to" : "from"} group ${shown(name)}${
      LIST_NOTE[list]
    }`,
    fields: { ...groupFields(name, gid), user: { name: u } },
    changes: [{ field: `${what}s`, ...(verb === "added" ? { to: u } : { from: u }) }],
    source,
    ...(verb === "added" && addedSeverity ? { severity: addedSeverity } : {}),
  });
  for (const u of b) if (!a.has(u)) out.push(change(u, "added"));
  for (const u of a) if (!b.has(u)) out.push(change(u, "removed"));
  return out;
}

/** The level of a member or administrator added to a group with `gid`, among `privileged` gids. */
function joinSeverity(gid: number, privileged: ReadonlySet<number>): SeverityLevel {
  return privileged.has(gid) ? "critical" : "high";
}

/**
 * Groups added, removed, renumbered, members added or removed (per line),
 * and the gids users gained or lost through any line, from two group
 * files, with passwd beside it (`peers`) for the primary gids users hold.
 */
export function diffGroup(
  beforeRecords: GroupRecord[],
  afterRecords: GroupRecord[],
  file: string,
  peers: Peers = () => undefined,
): SemanticChange[] {
  const before = splitRecords(beforeRecords).entries;
  const after = splitRecords(afterRecords).entries;
  const a = byName(before);
  const b = byName(after);
  const out: SemanticChange[] = [];
  const privileged = privilegedGids(after);
  const namesBefore = gidNames(before);
  const namesAfter = gidNames(after);
  // Gids a member event says in full: on the line that names the gid.
  const told = new Set<string>();
  for (const [key, { entry: g, duplicate }] of b) {
    const old = a.get(key)?.entry;
    const source = { file, line: g.line };
    if (!old) {
      const members = g.members.length ? ` with members ${shown(g.members.join(", "))}` : "";
      const root = g.gid === 0 ? " (gid 0)" : "";
      const again = duplicate > 0 ? " again (a duplicate entry)" : "";
      out.push({
        action: "group_added",
        subject: g.name,
        message: `group ${shown(g.name)} added${again} with gid ${g.gid}${root}${members}`,
        fields: groupFields(g.name, g.gid),
        changes: [{ field: "gid", to: g.gid }, { field: "members", to: g.members }],
        source,
      });
      continue;
    }
    if (old.gid !== g.gid) {
      out.push({
        action: "group_modified",
        subject: g.name,
        message: `group ${shown(g.name)} modified: gid ${old.gid} → ${g.gid}`,
        fields: groupFields(g.name, g.gid),
        changes: [{ field: "gid", from: old.gid, to: g.gid }],
        source,
      });
    }
    const members = listChanges(
      g.name,
      g.gid,
      old.members,
      g.members,
      "member",
      source,
      joinSeverity(g.gid, privileged),
    );
    for (const c of members) {
      const u = c.fields?.user?.name ?? "";
      if (c.action === "group_member_added" && namesAfter.get(g.gid) === g.name) {
        told.add(gidKey("gained", u, g.gid));
      }
      if (c.action === "group_member_removed" && namesBefore.get(old.gid) === old.name) {
        told.add(gidKey("lost", u, old.gid));
      }
    }
    out.push(...members);
  }
  for (const [key, { entry: g, duplicate }] of a) {
    if (b.has(key)) continue;
    out.push({
      action: "group_removed",
      subject: g.name,
      message: `group ${shown(g.name)} removed${
        duplicate ? " (a duplicate entry)" : ""
      } (gid ${g.gid})`,
      fields: groupFields(g.name, g.gid),
      source: { file, line: g.line },
    });
  }
  const passwd = peers<PasswdEntry>("passwd");
  out.push(...gidChanges(
    { group: { records: beforeRecords, file }, passwd },
    { group: { records: afterRecords, file }, passwd },
    (verb, user, gid) => told.has(gidKey(verb, user, gid)),
  ));
  return out;
}

/**
 * Group administrators, members and passwords, from two gshadow files,
 * each list change at the level of the group's gid in the group file
 * beside it (`peers`; by the group's name alone when it is not watched).
 * A member added to or removed from gshadow who holds the gid at login
 * anyway (through /etc/group or as the primary gid) gains or loses
 * nothing: the group file's events say that membership.
 */
export function diffGshadow(
  before: GshadowEntry[],
  after: GshadowEntry[],
  file: string,
  peers: Peers = () => undefined,
): SemanticChange[] {
  const group = peers<GroupRecord>("group");
  const entries = group && splitRecords(group.entries).entries;
  const gids = entries && nameGids(entries);
  const privileged = entries && privilegedGids(entries);
  const held = group &&
    heldGids({ group: { records: group.entries, file: group.file }, passwd: peers("passwd") });
  const a = byName(before);
  const out: SemanticChange[] = [];
  for (const [key, { entry: g }] of byName(after)) {
    const old = a.get(key)?.entry;
    const source = { file, line: g.line };
    const gid = gids?.get(g.name);
    const severity: SeverityLevel = gid !== undefined && privileged
      ? joinSeverity(gid, privileged)
      : ADMIN_GROUP_NAMES.has(g.name) || gid === 0
      ? "critical"
      : "high";
    out.push(
      ...listChanges(g.name, gid, old?.admins ?? [], g.admins, "admin", source, severity),
    );
    const holds = (u: string) => gid !== undefined && held?.get(u)?.has(gid) === true;
    out.push(
      ...listChanges(
        g.name,
        gid,
        (old?.members ?? []).filter((u) => !holds(u)),
        g.members.filter((u) => !holds(u)),
        "gshadowMember",
        source,
        severity,
      ),
    );
    const p = g.password;
    if (!p) continue; // a lone `+name`: no password field at all
    const same = old && old.password?.state === p.state &&
      old.password?.fingerprint === p.fingerprint;
    // A new group with no usable password (groupadd's `!`) is no password event.
    const quietNew = !old && p.state !== "set" && p.state !== "locked";
    if (same || quietNew) continue;
    const from = old?.password?.state ?? null;
    const verb = !old || old.password?.fingerprint === undefined
      ? (p.fingerprint !== undefined ? "set" : "changed")
      : "changed";
    out.push({
      action: "group_password_changed",
      subject: g.name,
      message: `group password ${verb} for ${shown(g.name)} (${from ?? "none"} → ${p.state})`,
      fields: groupFields(g.name, gid),
      changes: [{ field: "password", from, to: p.state }],
      source,
    });
  }
  return out;
}

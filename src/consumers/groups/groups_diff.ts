/**
 * What changed for groups, from group and gshadow entries before and after:
 * groups added, removed and renumbered, members and administrators added
 * and removed (per line), the gids users gained and lost through any line
 * (`gid_changes.ts`), group passwords changed (by state; never a hash or a
 * fingerprint). A member or administrator added to a group whose gid is
 * privileged (`privileged_gids.ts`) is critical, whatever the line's name.
 *
 * @module
 */
import { byName } from "../_by_name.ts";
import { type SemanticChange, shown, type SubjectFields } from "../semantic_change.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";
import { gidChanges, gidKey } from "./gid_changes.ts";
import { gidNames } from "./gid_holders.ts";
import { type GroupRecord, splitRecords } from "./group_file.ts";
import type { GshadowEntry } from "./gshadow.ts";
import { ADMIN_GROUP_NAMES, privilegedGids } from "./privileged_gids.ts";

/** group records (`group_file.ts`) and gshadow entries of one moment. */
export interface GroupDatabase {
  group: GroupRecord[];
  gshadow: GshadowEntry[];
}

const groupFields = (name: string, gid?: number): SubjectFields => ({
  group: { name, ...(gid !== undefined ? { id: String(gid) } : {}) },
});

function listChanges(
  name: string,
  gid: number | undefined,
  before: string[],
  after: string[],
  what: "member" | "admin",
  source: { file: string; line: number },
  /** The level of an addition (removals keep the default). */
  addedSeverity?: SeverityLevel,
): SemanticChange[] {
  const out: SemanticChange[] = [];
  const a = new Set(before);
  const b = new Set(after);
  const change = (u: string, verb: "added" | "removed"): SemanticChange => ({
    action: `group_${what}_${verb}`,
    subject: name,
    message: `${shown(u)} ${verb} ${verb === "added" ? "to" : "from"} group ${shown(name)}${
      what === "admin" ? " as administrator" : ""
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
 * and the gids users gained or lost through any line, from two group files.
 */
export function diffGroup(
  beforeRecords: GroupRecord[],
  afterRecords: GroupRecord[],
  file: string,
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
  out.push(...gidChanges(beforeRecords, afterRecords, file, told));
  return out;
}

/**
 * Group administrators and group passwords, from two gshadow files.
 * Members are reported from /etc/group, which lists the same members.
 */
export function diffGshadow(
  before: GshadowEntry[],
  after: GshadowEntry[],
  file: string,
): SemanticChange[] {
  const a = byName(before);
  const out: SemanticChange[] = [];
  for (const [key, { entry: g }] of byName(after)) {
    const old = a.get(key)?.entry;
    const source = { file, line: g.line };
    // gshadow alone has no gids: by name here, by gid in diffGroups.
    const severity = ADMIN_GROUP_NAMES.has(g.name) ? "critical" : "high";
    out.push(
      ...listChanges(g.name, undefined, old?.admins ?? [], g.admins, "admin", source, severity),
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
      fields: groupFields(g.name),
      changes: [{ field: "password", from, to: p.state }],
      source,
    });
  }
  return out;
}

/** Group changes from group and gshadow together, gids filled in from group. */
export function diffGroups(
  before: GroupDatabase,
  after: GroupDatabase,
  files: { group: string; gshadow: string } = { group: "/etc/group", gshadow: "/etc/gshadow" },
): SemanticChange[] {
  const out = diffGroup(before.group, after.group, files.group);
  const entries = splitRecords(after.group).entries;
  const groups = byName(entries);
  const privileged = privilegedGids(entries);
  for (const c of diffGshadow(before.gshadow, after.gshadow, files.gshadow)) {
    const g = c.subject === undefined ? undefined : groups.get(c.subject)?.entry;
    if (!g) {
      out.push(c);
      continue;
    }
    const severity = c.action === "group_admin_added"
      ? joinSeverity(g.gid, privileged)
      : c.severity;
    out.push({
      ...c,
      fields: { ...c.fields, ...groupFields(g.name, g.gid) },
      ...(severity ? { severity } : {}),
    });
  }
  return out;
}

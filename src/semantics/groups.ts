/**
 * What changed for groups, from group and gshadow entries before and after.
 *
 * @module
 */
import type { SemanticEvent } from "../consumers/consumer.ts";
import { byName } from "./by_name.ts";
import type { GroupEntry } from "../parsers/group.ts";
import type { GshadowEntry } from "../parsers/gshadow.ts";

const groupFields = (name: string, gid?: number) => ({
  group: { name, ...(gid !== undefined ? { id: String(gid) } : {}) },
});

function listChanges(
  name: string,
  gid: number | undefined,
  before: string[],
  after: string[],
  what: "member" | "admin",
  file: string,
  line: number,
): SemanticEvent[] {
  const out: SemanticEvent[] = [];
  const a = new Set(before);
  const b = new Set(after);
  for (const u of b) {
    if (a.has(u)) continue;
    out.push({
      action: `group_${what}_added`,
      message: `${u} added to group ${name} as ${what}`,
      fields: { ...groupFields(name, gid), user: { name: u } },
      source: { file, line },
    });
  }
  for (const u of a) {
    if (b.has(u)) continue;
    out.push({
      action: `group_${what}_removed`,
      message: `${u} removed from group ${name} as ${what}`,
      fields: { ...groupFields(name, gid), user: { name: u } },
      source: { file, line },
    });
  }
  return out;
}

/** Groups added, removed, renumbered, and members added or removed. */
export function diffGroup(
  before: GroupEntry[],
  after: GroupEntry[],
  file: string,
): SemanticEvent[] {
  const a = byName(before);
  const b = byName(after);
  const out: SemanticEvent[] = [];
  for (const [name, g] of b) {
    const old = a.get(name);
    if (!old) {
      const members = g.members.length ? ` with members ${g.members.join(", ")}` : "";
      out.push({
        action: "group_added",
        message: `group ${name} added with gid ${g.gid}${members}`,
        fields: groupFields(name, g.gid),
        source: { file, line: g.line },
      });
      continue;
    }
    if (old.gid !== g.gid) {
      out.push({
        action: "group_modified",
        message: `group ${name} modified: gid ${old.gid} → ${g.gid}`,
        fields: groupFields(name, g.gid),
        changes: [{ field: "gid", from: old.gid, to: g.gid }],
        source: { file, line: g.line },
      });
    }
    out.push(...listChanges(name, g.gid, old.members, g.members, "member", file, g.line));
  }
  for (const [name, g] of a) {
    if (!b.has(name)) {
      out.push({
        action: "group_removed",
        message: `group ${name} removed (gid ${g.gid})`,
        fields: groupFields(name, g.gid),
        source: { file },
      });
    }
  }
  return out;
}

/**
 * Group administrators and group passwords. Members are reported from
 * /etc/group, which lists the same members.
 */
export function diffGshadow(
  before: GshadowEntry[],
  after: GshadowEntry[],
  file: string,
): SemanticEvent[] {
  const a = byName(before);
  const out: SemanticEvent[] = [];
  for (const g of after) {
    const old = a.get(g.name);
    out.push(...listChanges(g.name, undefined, old?.admins ?? [], g.admins, "admin", file, g.line));
    if (
      old &&
      (old.password.state !== g.password.state ||
        old.password.fingerprint !== g.password.fingerprint)
    ) {
      out.push({
        action: "group_password_changed",
        message:
          `group password of ${g.name} changed (${old.password.state} → ${g.password.state})`,
        fields: groupFields(g.name),
        changes: [{ field: "password", from: old.password.state, to: g.password.state }],
        source: { file, line: g.line },
      });
    }
  }
  return out;
}

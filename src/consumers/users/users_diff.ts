/**
 * What changed for accounts, from passwd and shadow entries before and
 * after. Never emits a hash or a fingerprint: fingerprints are compared,
 * only password states (`set`, `locked`, ...) are emitted.
 *
 * Password transitions (states: `consumers/_password_field.ts`):
 * - to `empty` → `password_removed` (login without a password);
 * - a new fingerprint → `password_changed` ("set" when there was none);
 * - `set`/`empty` → `locked`/`disabled` → `password_locked`;
 * - `locked` → `set` → `password_unlocked` (with `password_changed` too
 *   when the hash is not the one that was locked);
 * - any other change (e.g. `locked` → `disabled`) → `password_changed`.
 * A new account whose password is `disabled` (useradd's `!`) is not a
 * password event.
 *
 * @module
 */
import { byName, type Keyed } from "../_by_name.ts";
import {
  type FieldChange,
  type SemanticChange,
  shown,
  type SubjectFields,
} from "../semantic_change.ts";
import { isCompatName } from "../_colon_file.ts";
import type { PasswdEntry } from "./passwd.ts";
import { isUsable, type PasswordInfo } from "../_password_field.ts";
import type { ShadowEntry } from "./shadow.ts";
import { gidChanges, type Told } from "../groups/gid_changes.ts";
import { primaryEntries } from "../groups/gid_holders.ts";
import type { GroupRecord } from "../groups/group_file.ts";
import type { Peers } from "../paired_consumer.ts";

/** passwd and shadow entries of one moment. */
export interface UserDatabase {
  passwd: PasswdEntry[];
  shadow: ShadowEntry[];
}

function userFields(name: string, uid?: number): SubjectFields {
  return { user: { name, ...(uid !== undefined ? { id: String(uid) } : {}) } };
}

/** The password events of one account between two password fields. */
export function passwordChanges(
  name: string,
  before: PasswordInfo | undefined,
  after: PasswordInfo | undefined,
  where: { file: string; line?: number; uid?: number },
): SemanticChange[] {
  const a = before;
  const b = after;
  if (!b || b.state === "shadowed") return [];
  if (a && a.state === b.state && a.fingerprint === b.fingerprint) return [];
  if (!a && b.state === "disabled") return [];
  const base = {
    subject: name,
    fields: userFields(name, where.uid),
    source: { file: where.file, ...(where.line !== undefined ? { line: where.line } : {}) },
    changes: [{ field: "password", from: a?.state ?? null, to: b.state }],
  };
  const who = shown(name);
  if (b.state === "empty") {
    return [{
      ...base,
      action: "password_removed",
      message: `password removed for ${who}: login without a password is possible`,
    }];
  }
  const out: SemanticChange[] = [];
  if (b.fingerprint !== undefined && b.fingerprint !== a?.fingerprint) {
    const verb = a?.fingerprint !== undefined ? "changed" : "set";
    out.push({
      ...base,
      action: "password_changed",
      message: `password ${verb} for ${who}${b.state === "locked" ? " (locked)" : ""}`,
    });
  }
  if ((b.state === "locked" || b.state === "disabled") && a && isUsable(a.state)) {
    out.push({
      ...base,
      action: "password_locked",
      message: b.state === "locked"
        ? `password locked for ${who}`
        : `password disabled for ${who}: no password can be used`,
    });
  }
  if (b.state === "set" && a?.state === "locked") {
    out.push({ ...base, action: "password_unlocked", message: `password unlocked for ${who}` });
  }
  if (out.length === 0) {
    out.push({
      ...base,
      action: "password_changed",
      message: `password of ${who} changed (${a?.state ?? "none"} → ${b.state})`,
    });
  }
  return out;
}

const PASSWD_FIELDS = ["uid", "gid", "gecos", "home", "shell"] as const;

function added(k: Keyed<PasswdEntry>, file: string): SemanticChange {
  const e = k.entry;
  const root = e.uid === 0 ? " (uid 0: a superuser)" : "";
  const again = k.duplicate > 0 ? " again (a duplicate entry: lookups by name use the first)" : "";
  const compat = isCompatName(e.name)
    ? " (a NIS compat line: an account of this name under nsswitch `files`, NIS users under `compat`)"
    : "";
  return {
    action: "user_added",
    subject: e.name,
    message: `user ${shown(e.name)} added${again} with uid ${e.uid}${root}, gid ${e.gid}, home ${
      shown(e.home)
    }, shell ${shown(e.shell)}${compat}`,
    fields: userFields(e.name, e.uid),
    changes: PASSWD_FIELDS.map((f) => ({ field: f, to: e[f] })),
    source: { file, line: e.line },
  };
}

/**
 * Accounts added, removed and modified between two passwd files, and the
 * gids users gain and lose through their primary gid (`gid_changes.ts`),
 * judged with the group file beside it (`peers`) as group changes are: a
 * primary gid made 27 or 0 (`usermod -g sudo`, `useradd -g 0`) is a
 * critical `group_gid_gained`. That event says the gid: `user_modified`
 * then leaves it out, and `user_added` and `user_removed` say the gids an
 * ordinary account comes and goes with.
 */
export function diffPasswd(
  before: PasswdEntry[],
  after: PasswdEntry[],
  file: string,
  peers: Peers = () => undefined,
): SemanticChange[] {
  const a = byName(before);
  const b = byName(after);
  const out: SemanticChange[] = [];
  const gids = primaryGidChanges(before, after, file, peers);
  const gidTold = new Set(gids.map((c) => c.fields?.user?.name));
  for (const [key, k] of b) {
    const e = k.entry;
    const where = { file, line: e.line, uid: e.uid };
    const old = a.get(key)?.entry;
    if (!old) {
      out.push(added(k, file));
      out.push(...passwordChanges(e.name, undefined, e.password, where));
      continue;
    }
    // The first line of a name is the account: a gid event says its gid.
    const gidSaid = k.duplicate === 0 && gidTold.has(e.name);
    const changes: FieldChange[] = PASSWD_FIELDS.filter((f) =>
      old[f] !== e[f] && !(f === "gid" && gidSaid)
    ).map((f) => ({ field: f, from: old[f], to: e[f] }));
    if (changes.length) {
      const text = changes.map((c) =>
        `${c.field} ${shown(c.from as string)} → ${shown(c.to as string)}`
      )
        .join(", ");
      const root = e.uid === 0 && old.uid !== 0 ? " (now a superuser)" : "";
      out.push({
        action: "user_modified",
        subject: e.name,
        message: `user ${shown(e.name)} modified: ${text}${root}`,
        fields: userFields(e.name, e.uid),
        changes,
        source: { file, line: e.line },
      });
    }
    out.push(...passwordChanges(e.name, old.password, e.password, where));
  }
  for (const [key, { entry: e, duplicate }] of a) {
    if (b.has(key)) continue;
    out.push({
      action: "user_removed",
      subject: e.name,
      message: `user ${shown(e.name)} removed${
        duplicate ? " (a duplicate entry)" : ""
      } (uid ${e.uid})`,
      fields: userFields(e.name, e.uid),
      source: { file, line: e.line },
    });
  }
  out.push(...gids);
  return out;
}

/**
 * The gids users gain and lose through their primary gid between two
 * passwd files, with the group file as it stands. An account added or
 * removed says its own gids (`user_added` names the gid), unless it gains
 * a privileged one.
 */
function primaryGidChanges(
  before: PasswdEntry[],
  after: PasswdEntry[],
  file: string,
  peers: Peers,
): SemanticChange[] {
  const group = peers<GroupRecord>("group");
  const namesBefore = new Set(before.map((e) => e.name));
  const namesAfter = new Set(after.map((e) => e.name));
  const told: Told = (verb, user, _gid, privileged) =>
    verb === "gained" ? !namesBefore.has(user) && !privileged : !namesAfter.has(user);
  const groupFile = group && { records: group.entries, file: group.file };
  const changes = gidChanges(
    { group: groupFile, passwd: { entries: before, file } },
    { group: groupFile, passwd: { entries: after, file } },
    told,
  );
  // Each event of an account whose primary gid changed says the change.
  const was = primaryEntries(before);
  const now = primaryEntries(after);
  return changes.map((c) => {
    const user = c.fields?.user?.name ?? "";
    const from = was.get(user)?.gid;
    const to = now.get(user)?.gid;
    if (from === undefined || to === undefined || from === to) return c;
    return {
      ...c,
      message: `${c.message} (primary gid ${from} → ${to})`,
      changes: [...c.changes ?? [], { field: "gid", from, to }],
    };
  });
}

const AGING = [
  ["minDays", "minimum password age"],
  ["maxDays", "maximum password age"],
  ["warnDays", "password warning period"],
  ["inactiveDays", "inactivity period"],
  ["expireDay", "account expiration day"],
  ["lastChange", "last password change day"],
] as const;

/** Marks the change for a shadow entry that disappeared (see `diffUsers`). */
const SHADOW_ENTRY = "shadow_entry";

/** Password and aging changes between two shadow files. */
export function diffShadow(
  before: ShadowEntry[],
  after: ShadowEntry[],
  file: string,
): SemanticChange[] {
  const a = byName(before);
  const b = byName(after);
  const out: SemanticChange[] = [];
  for (const [key, { entry: e }] of b) {
    const old = a.get(key)?.entry;
    const pw = passwordChanges(e.name, old?.password, e.password, { file, line: e.line });
    out.push(...pw);
    if (!old) continue;
    // A password change moves lastChange too: reported only on its own (chage -d).
    const changes: FieldChange[] = AGING.filter(([f]) =>
      old[f] !== e[f] && (f !== "lastChange" || pw.length === 0)
    ).map(([f]) => ({ field: f, from: old[f] ?? null, to: e[f] ?? null }));
    if (changes.length) {
      const label = new Map<string, string>(AGING);
      out.push({
        action: "user_modified",
        subject: e.name,
        message: `user ${shown(e.name)} modified: ${
          changes.map((c) =>
            `${label.get(c.field)} ${shown(c.from as number | null)} → ${
              shown(c.to as number | null)
            }`
          ).join(", ")
        }`,
        fields: userFields(e.name),
        changes,
        source: { file, line: e.line },
      });
    }
  }
  for (const [key, { entry: e }] of a) {
    if (b.has(key)) continue;
    out.push({
      action: "user_modified",
      subject: e.name,
      message: `user ${shown(e.name)} modified: shadow entry removed`,
      fields: userFields(e.name),
      changes: [{ field: SHADOW_ENTRY, from: "present", to: "absent" }],
      source: { file, line: e.line },
    });
  }
  return out;
}

/**
 * Account changes from passwd and shadow together: passwd's events, then
 * shadow's with the uid filled in; a shadow entry that left with its
 * account is not reported on its own.
 */
export function diffUsers(
  before: UserDatabase,
  after: UserDatabase,
  files: { passwd: string; shadow: string } = { passwd: "/etc/passwd", shadow: "/etc/shadow" },
): SemanticChange[] {
  const out = diffPasswd(before.passwd, after.passwd, files.passwd);
  const accounts = byName(after.passwd);
  for (const c of diffShadow(before.shadow, after.shadow, files.shadow)) {
    const account = c.subject === undefined ? undefined : accounts.get(c.subject)?.entry;
    if (!account && c.changes?.[0]?.field === SHADOW_ENTRY) continue;
    out.push(account ? { ...c, fields: userFields(account.name, account.uid) } : c);
  }
  return out;
}

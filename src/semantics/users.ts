/**
 * What changed for accounts, from passwd and shadow entries before and after.
 * Never emits a hash or a fingerprint: only states and named fields.
 *
 * @module
 */
import type { SemanticEvent } from "../consumers/consumer.ts";
import { byName } from "./by_name.ts";
import type { PasswdEntry } from "../parsers/passwd.ts";
import type { PasswordInfo } from "../parsers/password_field.ts";
import type { ShadowEntry } from "../parsers/shadow.ts";

function userFields(e: { name: string; uid?: number }) {
  return { user: { name: e.name, ...(e.uid !== undefined ? { id: String(e.uid) } : {}) } };
}

/** Password transitions between two password fields of one account. */
export function passwordEvents(
  name: string,
  uid: number | undefined,
  a: PasswordInfo | undefined,
  b: PasswordInfo | undefined,
  file: string,
  line?: number,
): SemanticEvent[] {
  if (!b || (a && a.state === b.state && a.fingerprint === b.fingerprint)) return [];
  const base = { fields: userFields({ name, uid }), source: { file, line } };
  const from = a?.state ?? "none";
  const changes = [{ field: "password", from, to: b.state }];
  if (b.state === "locked" && a?.state === "set" && a.fingerprint === b.fingerprint) {
    return [{
      ...base,
      action: "password_locked",
      message: `password locked for ${name}`,
      changes,
    }];
  }
  if (b.state === "set" && a?.state === "locked" && a.fingerprint === b.fingerprint) {
    return [{
      ...base,
      action: "password_unlocked",
      message: `password unlocked for ${name}`,
      changes,
    }];
  }
  if (b.state === "empty") {
    return [{
      ...base,
      action: "password_removed",
      message: `password removed for ${name}: login without a password is possible`,
      changes,
    }];
  }
  if (b.state === "set" || b.state === "locked") {
    const verb = a?.state === "set" || a?.state === "locked" ? "changed" : "set";
    return [{
      ...base,
      action: "password_changed",
      message: `password ${verb} for ${name}`,
      changes,
    }];
  }
  return [{
    ...base,
    action: "password_disabled",
    message: `password disabled for ${name}`,
    changes,
  }];
}

const PASSWD_FIELDS = ["uid", "gid", "gecos", "home", "shell"] as const;

/** Accounts added, removed and modified between two passwd files. */
export function diffPasswd(
  before: PasswdEntry[],
  after: PasswdEntry[],
  file: string,
): SemanticEvent[] {
  const a = byName(before);
  const b = byName(after);
  const out: SemanticEvent[] = [];
  for (const [name, e] of b) {
    const old = a.get(name);
    if (!old) {
      const root = e.uid === 0 ? " (uid 0: a superuser)" : "";
      out.push({
        action: "user_added",
        message:
          `user ${name} added with uid ${e.uid}${root}, gid ${e.gid}, home ${e.home}, shell ${e.shell}`,
        fields: userFields(e),
        changes: PASSWD_FIELDS.map((f) => ({ field: f, to: e[f] })),
        source: { file, line: e.line },
      });
      out.push(
        ...passwordEvents(
          name,
          e.uid,
          undefined,
          e.password.state === "shadowed" ? undefined : e.password,
          file,
          e.line,
        ),
      );
      continue;
    }
    const changes = PASSWD_FIELDS.filter((f) => old[f] !== e[f]).map((f) => ({
      field: f,
      from: old[f],
      to: e[f],
    }));
    if (changes.length) {
      const text = changes.map((c) => `${c.field} ${c.from} → ${c.to}`).join(", ");
      const root = e.uid === 0 && old.uid !== 0 ? " (now a superuser)" : "";
      out.push({
        action: "user_modified",
        message: `user ${name} modified: ${text}${root}`,
        fields: userFields(e),
        changes,
        source: { file, line: e.line },
      });
    }
    out.push(...passwordEvents(name, e.uid, old.password, e.password, file, e.line));
  }
  for (const [name, e] of a) {
    if (!b.has(name)) {
      out.push({
        action: "user_removed",
        message: `user ${name} removed (uid ${e.uid})`,
        fields: userFields(e),
        source: { file },
      });
    }
  }
  return out;
}

const AGING = [
  ["minDays", "minimum password age"],
  ["maxDays", "maximum password age"],
  ["warnDays", "password warning period"],
  ["inactiveDays", "inactivity period"],
  ["expireDay", "account expiration"],
] as const;

/** Password and aging changes between two shadow files. */
export function diffShadow(
  before: ShadowEntry[],
  after: ShadowEntry[],
  file: string,
): SemanticEvent[] {
  const a = byName(before);
  const b = byName(after);
  const out: SemanticEvent[] = [];
  for (const [name, e] of b) {
    const old = a.get(name);
    out.push(...passwordEvents(name, undefined, old?.password, e.password, file, e.line));
    if (!old) continue;
    const changes = AGING.filter(([f]) => old[f] !== e[f]).map(([f, label]) => ({
      field: label,
      from: old[f],
      to: e[f],
    }));
    if (changes.length) {
      out.push({
        action: "user_modified",
        message: `user ${name} modified: ${
          changes.map((c) => `${c.field} ${c.from ?? "unset"} → ${c.to ?? "unset"}`).join(", ")
        }`,
        fields: userFields({ name }),
        changes,
        source: { file, line: e.line },
      });
    }
  }
  for (const name of a.keys()) {
    if (!b.has(name)) {
      out.push({
        action: "user_modified",
        message: `user ${name} modified: shadow entry removed`,
        fields: userFields({ name }),
        changes: [{ field: "shadow entry", from: "present", to: "absent" }],
        source: { file },
      });
    }
  }
  return out;
}

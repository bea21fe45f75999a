/**
 * What a change of a file's extended attributes and inode flags means
 * (extra_attrs.ts's text, before and after): the `bpfink.changes` entries
 * that say it, by meaning, and the phrases the message carries.
 *
 * - `acl` / `default_acl`: the ACL before and after, as getfacl names it;
 * - `acl_grants` / `default_acl_grants`: each user, group or `other` the
 *   new ACL lets write (or read, on a secret file: shadow and the like)
 *   where it could not before, named as getfacl names it (`user:nobody rw-`,
 *   the permissions the mask leaves in effect); an ACL that is not one the
 *   kernel writes is a grant too (nobody can say what it allows);
 * - `flags`: the inode flags (immutable, append) before and after;
 * - `capabilities`: getcap's text (severity.ts's capabilitiesChange);
 * - `xattr`: another extended attribute added, changed or removed, by name
 *   only: its value is never known here (the text keeps a digest).
 *
 * @module
 */
import { effectivePerms, parseAclText, permText } from "../watch/posix_acl.ts";
import { groupName, userName } from "../watch/account_names.ts";
import { capabilitiesChange } from "./severity.ts";

/** One `bpfink.changes` entry. */
export interface AttrChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** The change entries' fields (severity.ts reads them: GRANT_FIELDS). */
export const ACL_GRANTS = "acl_grants";
export const DEFAULT_ACL_GRANTS = "default_acl_grants";
export const FLAGS = "flags";
export const XATTR = "xattr";

/** Who owns the file, and whether reading it is a grant too. */
export interface AttrContext {
  uid: number;
  /** The file's mode: without an ACL, its group and other bits are what was allowed. */
  mode: number;
  /** A file marked secret, or one that may hold password hashes. */
  secret: boolean;
}

/** extra_attrs.ts's text as key → value (a line's first word → the rest). */
function lines(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const sp = line.indexOf(" ");
    const key = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? "" : line.slice(sp + 1);
    const list = out.get(key);
    if (list) list.push(rest);
    else out.set(key, [rest]);
  }
  return out;
}

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._@-]{0,31}$/;

/** An account's name for a message: its local name when plain, else its id. */
function nameOf(tag: "user" | "group", id: number): string {
  const name = tag === "user" ? userName(id) : groupName(id);
  return name !== undefined && SAFE_NAME.test(name) ? name : String(id);
}

/** getfacl's text of an ACL text with ids named (`user:nobody:rw-`). */
export function namedAclText(text: string | undefined): string | null {
  if (text === undefined) return null;
  if (text.startsWith("invalid")) return "invalid";
  return parseAclText(text).map((e) =>
    `${e.tag}:${e.id === undefined ? "" : nameOf(e.tag === "group" ? "group" : "user", e.id)}:${
      permText(e.perm)
    }`
  ).join(",");
}

/** An ACL key (`user:65534`, `other:`) as a grantee's name (`user:nobody`, `other`). */
function granteeName(key: string): string {
  const [tag, id] = key.split(":");
  if (id === "") return tag;
  return `${tag}:${nameOf(tag === "group" ? "group" : "user", Number(id))}`;
}

/**
 * The grants an ACL change makes: each grantee other than the owner whose
 * effective permissions gain write (or read, when `secret`), named with
 * what it may do now. `before` undefined: the file had no such ACL, and
 * `fallback` (its mode's bits) is what was allowed.
 */
export function aclGrants(
  before: string | undefined,
  after: string,
  ctx: { uid: number; secret: boolean },
  fallback: Map<string, number> = new Map(),
): string[] {
  if (after.startsWith("invalid")) return ["an ACL bpfink cannot read (not one the kernel writes)"];
  const was = before === undefined || before.startsWith("invalid")
    ? fallback
    : effectivePerms(parseAclText(before));
  const now = effectivePerms(parseAclText(after));
  const wanted = 2 | (ctx.secret ? 4 : 0);
  const out: string[] = [];
  for (const [key, perm] of now) {
    // The owning group's bits are the mode's (a chmod); the owner named again is the owner.
    if (key === "group:" || key === `user:${ctx.uid}`) continue;
    const gained = perm & ~(was.get(key) ?? 0);
    if (gained & wanted) out.push(`${granteeName(key)} ${permText(perm)}`);
  }
  return out;
}

/** The grants a mode allows, as effectivePerms() keys them (a file without an ACL). */
function modePerms(mode: number): Map<string, number> {
  return new Map([["group:", (mode >> 3) & 7], ["other:", mode & 7]]);
}

/**
 * The change entries between two attribute texts of one file; [] when
 * either is not known (a record of an older bpfink) or they are equal.
 */
export function attrChanges(
  before: string | undefined,
  after: string | undefined,
  ctx: AttrContext,
): AttrChange[] {
  if (before === undefined || after === undefined || before === after) return [];
  const a = lines(before);
  const b = lines(after);
  const one = (m: Map<string, string[]>, k: string) => m.get(k)?.[0];
  const out: AttrChange[] = [];
  for (
    const [key, field, grants, fallback] of [
      ["acl", "acl", ACL_GRANTS, modePerms(ctx.mode)],
      ["default", "default_acl", DEFAULT_ACL_GRANTS, new Map<string, number>()],
    ] as const
  ) {
    const was = one(a, key);
    const now = one(b, key);
    if (was === now) continue;
    out.push({ field, from: namedAclText(was), to: namedAclText(now) });
    if (now !== undefined) {
      for (const g of aclGrants(was, now, ctx, fallback)) {
        out.push({ field: grants, from: null, to: g });
      }
    }
  }
  const flagsBefore = one(a, "flags") ?? "";
  const flagsAfter = one(b, "flags") ?? "";
  if (flagsBefore !== flagsAfter) out.push({ field: FLAGS, from: flagsBefore, to: flagsAfter });
  const caps = one(b, "caps");
  if (one(a, "caps") !== caps) out.push(capabilitiesChange(caps ?? ""));
  const digests = (m: Map<string, string[]>) =>
    new Map((m.get("xattr") ?? []).map((v) => [v.split(" ")[0], v.split(" ")[1] ?? ""]));
  const xa = digests(a);
  const xb = digests(b);
  for (const name of [...new Set([...xa.keys(), ...xb.keys()])].sort()) {
    const verb = !xa.has(name)
      ? "added"
      : !xb.has(name)
      ? "removed"
      : xa.get(name) !== xb.get(name)
      ? "changed"
      : undefined;
    if (verb) out.push({ field: XATTR, from: null, to: `${name} ${verb}` });
  }
  return out;
}

/** The phrases of `changes` for the message ("ACL grants user:nobody rw-", "immutable set"). */
export function attrPhrases(changes: readonly AttrChange[]): string[] {
  const out: string[] = [];
  for (const c of changes) {
    if (c.field === ACL_GRANTS) out.push(`ACL grants ${c.to}`);
    else if (c.field === DEFAULT_ACL_GRANTS) out.push(`default ACL grants ${c.to}`);
    else if (c.field === FLAGS) {
      const was = new Set(String(c.from).split(",").filter(Boolean));
      const now = new Set(String(c.to).split(",").filter(Boolean));
      for (const f of now) if (!was.has(f)) out.push(`${f} set`);
      for (const f of was) if (!now.has(f)) out.push(`${f} cleared`);
    } else if (c.field === XATTR && typeof c.to === "string") out.push(`xattr ${c.to}`);
    else if (c.field === "acl" || c.field === "default_acl") {
      const what = c.field === "acl" ? "ACL" : "default ACL";
      const grants = c.field === "acl" ? ACL_GRANTS : DEFAULT_ACL_GRANTS;
      if (c.to === null) out.push(`${what} removed`);
      else if (!changes.some((g) => g.field === grants)) out.push(`${what} now ${c.to}`);
    }
  }
  return out;
}

/**
 * POSIX ACLs as the kernel keeps them in the `system.posix_acl_access` and
 * `system.posix_acl_default` extended attributes (include/uapi/linux/
 * posix_acl_xattr.h): a 4-byte version (2), then 8 bytes an entry: tag (u16),
 * permissions (u16), id (u32), little-endian. The bytes are whatever the
 * file system hands back, so they are checked, never trusted.
 *
 * The text form is getfacl's short form with numeric ids
 * (`user::rw-,user:65534:rw-,group::r--,mask::rw-,other::r--`), entries in
 * the kernel's order (tag, then id), so equal ACLs have equal text.
 *
 * @module
 */

/** One ACL entry. */
export interface AclEntry {
  /** `user` and `group` with an id are named entries; without, the owner's and group's. */
  tag: "user" | "group" | "mask" | "other";
  /** The uid or gid of a named entry. */
  id?: number;
  /** rwx bits (4 read, 2 write, 1 execute). */
  perm: number;
}

const VERSION = 2;
const TAGS: Record<number, { tag: AclEntry["tag"]; named: boolean; order: number }> = {
  0x01: { tag: "user", named: false, order: 0 },
  0x02: { tag: "user", named: true, order: 1 },
  0x04: { tag: "group", named: false, order: 2 },
  0x08: { tag: "group", named: true, order: 3 },
  0x10: { tag: "mask", named: false, order: 4 },
  0x20: { tag: "other", named: false, order: 5 },
};
/** The most entries read (the kernel allows 8191 in an xattr of 64 KiB). */
const MAX_ENTRIES = 8191;

/** `perm` as getfacl writes it (`rw-`). */
export function permText(perm: number): string {
  return (perm & 4 ? "r" : "-") + (perm & 2 ? "w" : "-") + (perm & 1 ? "x" : "-");
}

/**
 * The entries of a raw ACL xattr, or why it is not one (one sentence).
 * Rejects a wrong version, a size that is not whole entries, an unknown
 * tag and permission bits beyond rwx; entries in another order are sorted
 * (a raw setxattr, or a crafted file system, need not sort them).
 */
export function decodeAcl(bytes: Uint8Array): AclEntry[] | { error: string } {
  if (bytes.length < 4 || (bytes.length - 4) % 8 !== 0) {
    return { error: `an ACL of ${bytes.length} bytes is not a header and whole entries` };
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(0, true);
  if (version !== VERSION) return { error: `ACL version ${version} is not ${VERSION}` };
  const n = (bytes.length - 4) / 8;
  if (n > MAX_ENTRIES) return { error: `an ACL of ${n} entries is more than ${MAX_ENTRIES}` };
  const out: (AclEntry & { order: number })[] = [];
  for (let i = 0; i < n; i++) {
    const at = 4 + 8 * i;
    const code = v.getUint16(at, true);
    const perm = v.getUint16(at + 2, true);
    const id = v.getUint32(at + 4, true);
    const t = TAGS[code];
    if (!t) return { error: `ACL entry ${i} has unknown tag 0x${code.toString(16)}` };
    if (perm > 7) return { error: `ACL entry ${i} has permission bits 0x${perm.toString(16)}` };
    out.push(
      t.named ? { tag: t.tag, id, perm, order: t.order } : { tag: t.tag, perm, order: t.order },
    );
  }
  // In the kernel's order (tag, then id), whatever order the bytes had: one ACL, one text.
  out.sort((a, b) => a.order - b.order || (a.id ?? -1) - (b.id ?? -1));
  return out.map(({ order: _, ...e }) => e);
}

/** getfacl's short text of `entries`, ids as numbers (`user:65534:rw-`). */
export function aclText(entries: readonly AclEntry[]): string {
  return entries.map((e) => `${e.tag}:${e.id ?? ""}:${permText(e.perm)}`).join(",");
}

/** The entries of aclText()'s text; entries that do not parse are skipped. */
export function parseAclText(text: string): AclEntry[] {
  const out: AclEntry[] = [];
  for (const part of text.split(",")) {
    const m = /^(user|group|mask|other):(\d*):([r-][w-][x-])$/.exec(part);
    if (!m) continue;
    const perm = (m[3][0] === "r" ? 4 : 0) | (m[3][1] === "w" ? 2 : 0) |
      (m[3][2] === "x" ? 1 : 0);
    const tag = m[1] as AclEntry["tag"];
    out.push(m[2] === "" ? { tag, perm } : { tag, id: Number(m[2]), perm });
  }
  return out;
}

/**
 * What each entry other than the owner's actually allows: a named user's or
 * group's, and the owning group's, bits are limited by the mask (getfacl's
 * `#effective:`); keyed `user:65534`, `group:`, `other:`.
 */
export function effectivePerms(entries: readonly AclEntry[]): Map<string, number> {
  const mask = entries.find((e) => e.tag === "mask")?.perm ?? 7;
  const out = new Map<string, number>();
  for (const e of entries) {
    if (e.tag === "mask" || (e.tag === "user" && e.id === undefined)) continue;
    const limited = e.tag === "other" ? e.perm : e.perm & mask;
    out.set(`${e.tag}:${e.id ?? ""}`, limited);
  }
  return out;
}

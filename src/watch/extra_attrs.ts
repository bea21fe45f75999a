/**
 * What a file's mode does not say about who may do what with it: its POSIX
 * ACLs, its capabilities, its other extended attributes and its inode flags
 * (immutable, append-only). bpfink keeps them as one canonical text, a line
 * each, sorted, so two states compare as strings and the store keeps one
 * column:
 *
 * ```
 * acl user::rw-,user:65534:rw-,group::r--,mask::rw-,other::r--
 * caps cap_setuid=ep
 * default user::rwx,group::r-x,other::r-x
 * flags append,immutable
 * xattr user.note 3f1a9c0d5e7b2a41
 * ```
 *
 * An ACL is getfacl's text with numeric ids (posix_acl.ts); other extended
 * attributes are kept by name and a digest of the value, never the value
 * (it may be a secret). The digest is keyed (HMAC-SHA256 with a key derived
 * from the host key, `keyXattrDigests`): a value of little entropy (a PIN,
 * a flag) cannot be found from a copy of the database by hashing guesses.
 * A name is attacker-chosen bytes: every byte outside printable ASCII, and
 * `%`, is written `%XX`, so a name is one word of plain text wherever it is
 * shown.
 *
 * The text is "" for a file with none of these, and a state without it
 * (undefined) is one that does not know them (an older database).
 *
 * The hashing workers' reader writes the same text, byte for byte
 * (native/extra_attrs.h), for files without an ACL or capabilities:
 * native_reader_test.ts compares the two on random attributes.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { lazyLibc } from "../libc.ts";
import { CPathBuffer } from "./path_bytes.ts";
import { aclText, decodeAcl } from "./posix_acl.ts";
import { capabilitiesText } from "./file_capabilities.ts";

const { libc, errno } = lazyLibc(
  {
    llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
    lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
    __errno_location: { parameters: [], result: "pointer" },
  } as const,
);

const ENODATA = 61;
const ERANGE = 34;
const ENOTSUP = 95;
/** The largest value or list an extended attribute may have (XATTR_SIZE_MAX). */
const XATTR_MAX = 64 * 1024;

/** statx's inode flags that bpfink reports, by name (STATX_ATTR_*). */
export const INODE_FLAGS: readonly [number, string][] = [
  [0x20, "append"],
  [0x10, "immutable"],
];

/** Characters of the value digest kept for an extended attribute of unknown meaning. */
const DIGEST_CHARS = 16;

const PATH = new CPathBuffer();
let listBuf = new Uint8Array(1024);
let valueBuf = new Uint8Array(1024);

/** `bytes` as one word of printable ASCII (`%XX` for the rest, and for `%`). */
export function escapeXattrName(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    out += b > 0x20 && b < 0x7f && b !== 0x25
      ? String.fromCharCode(b)
      : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** The label the digests' key is derived from the host key with. */
const KEY_LABEL = "bpfink xattr digest v1";
/** The digests' key length in bytes (native/extra_attrs.h's ATTRS_KEY_BYTES). */
export const XATTR_KEY_BYTES = 32;

let digestKey: Uint8Array | undefined;

/**
 * Keys the value digests with a key derived from `hostKey` (HMAC-SHA256 of
 * a fixed label): set once where the host key is loaded, before the first
 * read, so that the database's digests are the same from start to start.
 */
export function keyXattrDigests(hostKey: Uint8Array): void {
  digestKey = new Uint8Array(createHmac("sha256", hostKey).update(KEY_LABEL).digest());
}

/** Keys the digests with `key`, as xattrDigestKey() gave it (a hashing worker's). */
export function useXattrDigestKey(key: Uint8Array): void {
  if (key.length !== XATTR_KEY_BYTES) throw new RangeError("an xattr digest key is 32 bytes");
  digestKey = key.slice();
}

/**
 * The key the digests are made with. Without a host key (a unit test, a
 * tool), a random key of this process's: a digest is never the bare
 * sha256 of a value, and within the process the texts still compare (the
 * hashing workers get this key with their first window).
 */
export function xattrDigestKey(): Uint8Array {
  return digestKey ??= crypto.getRandomValues(new Uint8Array(XATTR_KEY_BYTES));
}

/** `bytes`' keyed digest as kept: never the value itself, nor its bare hash. */
function digest(bytes: Uint8Array): string {
  return createHmac("sha256", xattrDigestKey()).update(bytes).digest("hex").slice(0, DIGEST_CHARS);
}

/** Whether a line of the text ends with a value's digest (`xattr`, or an `invalid` ACL or caps). */
function isDigestLine(words: string[]): boolean {
  return (words[0] === "xattr" && words.length === 3) ||
    (words[1] === "invalid" && words.length === 3);
}

/**
 * `old`'s text (unkeyed digests, an older bpfink's) with each digest of a
 * line that `now` has by the same name replaced by `now`'s: the names, ACLs,
 * capabilities and flags still compare, the digests (which cannot, being
 * made another way) are taken as they are now.
 */
export function rekeyedText(old: string, now: string): string {
  if (old === "") return old;
  const current = new Map<string, string>();
  for (const line of now.split("\n")) {
    const words = line.split(" ");
    if (isDigestLine(words)) current.set(words.slice(0, 2).join(" "), line);
  }
  return old.split("\n").map((line) => {
    const words = line.split(" ");
    return isDigestLine(words) ? current.get(words.slice(0, 2).join(" ")) ?? line : line;
  }).sort().join("\n");
}

/**
 * The line of one extended attribute: an ACL or capabilities by meaning
 * (or `invalid` and a digest when the bytes are not one), any other by
 * name and digest.
 */
export function xattrLine(name: Uint8Array, value: Uint8Array): string {
  const text = escapeXattrName(name);
  if (text === "system.posix_acl_access" || text === "system.posix_acl_default") {
    const key = text === "system.posix_acl_access" ? "acl" : "default";
    const acl = decodeAcl(value);
    return "error" in acl ? `${key} invalid ${digest(value)}` : `${key} ${aclText(acl)}`;
  }
  if (text === "security.capability") {
    const caps = capabilitiesText(value);
    return caps === undefined ? `caps invalid ${digest(value)}` : `caps ${caps}`;
  }
  return `xattr ${text} ${digest(value)}`;
}

/** The `flags` line of statx attribute bits `attributes`, or undefined for none. */
export function flagsLine(attributes: number): string | undefined {
  const set = INODE_FLAGS.filter(([bit]) => attributes & bit).map(([, name]) => name);
  return set.length ? `flags ${set.join(",")}` : undefined;
}

/** Calls `call` with a buffer until it fits (ERANGE: asks the size); the bytes, or an errno. */
function sized(
  call: (buf: Uint8Array<ArrayBuffer>, size: bigint) => number | bigint,
  buf: Uint8Array<ArrayBuffer>,
): { bytes: Uint8Array<ArrayBuffer>; grown: Uint8Array<ArrayBuffer> } | { errno: number } {
  for (let tries = 0; tries < 3; tries++) {
    const n = Number(call(buf, BigInt(buf.length)));
    if (n >= 0) return { bytes: buf.subarray(0, n), grown: buf };
    const e = errno();
    if (e !== ERANGE) return { errno: e };
    const need = Number(call(new Uint8Array(0), 0n));
    if (need < 0) return { errno: errno() };
    buf = new Uint8Array(Math.min(Math.max(need, buf.length * 2), XATTR_MAX));
  }
  return { errno: ERANGE };
}

/**
 * The canonical text of `path`'s extended attributes and of statx's
 * `attributes` bits (not following a symlink); "" for none; undefined
 * when they cannot be read (the path is gone, or the call failed).
 */
export function extraAttrs(path: string, attributes: number): string | undefined {
  const lines: string[] = [];
  const flags = flagsLine(attributes);
  if (flags) lines.push(flags);
  const p = PATH.of(path);
  const list = sized((b, n) => libc().llistxattr(p, b, n), listBuf);
  if ("errno" in list) {
    // No extended attributes on this file system at all.
    if (list.errno === ENOTSUP) return lines.join("\n");
    return undefined;
  }
  listBuf = list.grown;
  const names = list.bytes.slice();
  for (let at = 0; at < names.length;) {
    let end = names.indexOf(0, at);
    if (end < 0) end = names.length;
    const name = names.subarray(at, end);
    at = end + 1;
    if (name.length === 0) continue;
    const n = new Uint8Array(name.length + 1);
    n.set(name);
    const value = sized((b, size) => libc().lgetxattr(p, n, b, size), valueBuf);
    if ("errno" in value) {
      // Removed between the list and the read: not there.
      if (value.errno === ENODATA) continue;
      return undefined;
    }
    valueBuf = value.grown;
    lines.push(xattrLine(name, value.bytes));
  }
  return lines.sort().join("\n");
}

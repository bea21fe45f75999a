/**
 * OpenSSH's authorized_keys format, read the way sshd and `ssh-keygen -l`
 * read it (sshd(8), "AUTHORIZED_KEYS FILE FORMAT"): a line is blank, a
 * comment (`#` after optional blanks), or `[options] keytype base64-blob
 * [comment]`. A line is first tried as a key; failing that, its options are
 * skipped (up to a blank outside double quotes, `\"` escaping a quote) and
 * the rest is tried as a key. A key is a type name sshd knows and a strict
 * base64 blob whose own type agrees with it; its identity is the SHA256
 * fingerprint of the blob, as `ssh-keygen -l` prints it.
 *
 * The parser checks a key's body as far as its shape (the strings each type
 * holds, an Ed25519 key's length, an RSA modulus of at least 1024 bits) and
 * is lenient where sshd is stricter (an ECDSA point, a certificate's body,
 * an RSA modulus above sshd's maximum, options sshd does not know), so
 * that every line sshd would accept is a key here
 * (`ssh_keys_differential_test.ts` holds it against `ssh-keygen -l`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { ParseResult } from "../parse_result.ts";

/** One key line. */
export interface AuthorizedKey {
  /** 1-based line number. */
  line: number;
  /** The type name as written (`ssh-ed25519`, `rsa-sha2-256`, ...). */
  type: string;
  /** `SHA256:` and the unpadded base64 of the blob's SHA-256, as ssh-keygen prints it. */
  fingerprint: string;
  /** The options as written before the type (`command="...",no-pty`), or "". */
  options: string;
  /** The text after the blob, trimmed; attacker-chosen, shown escaped. */
  comment: string;
}

/**
 * A key type: the blob's own type name, the wire strings its body holds
 * after the name (a key's body must be exactly these), and, for ECDSA, its
 * curve (the first of them). Certificates are matched by name only.
 */
interface KeyType {
  blobType: string;
  /** Strings after the type name (for a certificate, after its nonce). */
  fields: number;
  curve?: string;
  /** For a certificate, its key's plain type (`ssh-rsa`): it is fingerprinted as that key. */
  plainType?: string;
}

const CERT = "-cert-v01@openssh.com";

/** Every type name sshd reads in a key line, with the blob it must hold. */
const KEY_TYPES: ReadonlyMap<string, KeyType> = (() => {
  const m = new Map<string, KeyType>();
  const plain: [string, string, number, string?][] = [
    ["ssh-rsa", "ssh-rsa", 2], // e, n
    ["rsa-sha2-256", "ssh-rsa", 2],
    ["rsa-sha2-512", "ssh-rsa", 2],
    ["ssh-dss", "ssh-dss", 4], // p, q, g, y
    ["ssh-ed25519", "ssh-ed25519", 1], // the 32-byte key
    ["sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519@openssh.com", 2], // key, application
    ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", 2, "nistp256"], // curve, point
    ["ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", 2, "nistp384"],
    ["ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521", 2, "nistp521"],
    ["sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", 3, "nistp256"],
  ];
  for (const [name, blobType, fields, curve] of plain) {
    m.set(name, { blobType, fields, curve });
    // Certificates: `ssh-ed25519-cert-v01@openssh.com`, `sk-...@openssh.com` → `sk-...-cert-v01@openssh.com`.
    const cert = (n: string) => n.replace(/@openssh\.com$/, "") + CERT;
    m.set(cert(name), { blobType: cert(blobType), fields, curve, plainType: blobType });
  }
  return m;
})();

/** The fewest bits of an RSA modulus sshd accepts. */
const RSA_MIN_BITS = 1024;

/** The blanks sshd's key reader splits on. */
const isBlank = (c: string) => c === " " || c === "\t";

/** b64_pton's whitespace, which it skips inside the blob token. */
const B64_SPACE = /[\n\v\f\r ]/g;

/** Strict base64 as OpenSSH decodes it: whole quantums, proper padding, zero pad bits. */
function decodeBase64(token: string): Uint8Array | undefined {
  const s = token.replace(B64_SPACE, "");
  if (s === "" || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, "base64");
  // Padding bits that are not zero: another encoding of the same bytes, which b64_pton refuses.
  return bytes.toString("base64") === s ? new Uint8Array(bytes) : undefined;
}

/**
 * The SSH wire strings `blob` holds, in order: all of them (undefined when
 * it is not a whole run of them), or the first `count`.
 */
function wireStrings(blob: Uint8Array, count?: number): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  let at = 0;
  while (count === undefined ? at < blob.length : out.length < count) {
    if (at + 4 > blob.length) return undefined;
    const len = view.getUint32(at);
    if (len > blob.length - at - 4) return undefined;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

const ascii = (b: Uint8Array | undefined) =>
  b === undefined || b.length > 64 ? undefined : String.fromCharCode(...b);

/** Bits of an SSH mpint (big-endian, leading zero bytes ignored). */
function mpintBits(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return i === b.length ? 0 : (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]));
}

/** An SSH wire string. */
function wireString(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/**
 * The key `blob` holds when it is one of type `kt`, as far as bpfink checks
 * (see the module doc): the blob to fingerprint (a certificate's key, as
 * ssh-keygen fingerprints it), or undefined.
 */
function keyBlob(blob: Uint8Array, kt: KeyType): Uint8Array | undefined {
  const parts = wireStrings(blob, kt.plainType ? 2 + kt.fields : undefined);
  if (!parts || ascii(parts[0]) !== kt.blobType) return undefined;
  // A certificate: type, nonce, its key's fields, then a body bpfink does not check.
  const fields = kt.plainType ? parts.slice(2) : parts.slice(1);
  if (fields.length !== kt.fields) return undefined;
  if (kt.curve !== undefined && ascii(fields[0]) !== kt.curve) return undefined;
  if (kt.blobType.includes("ed25519") && fields[0].length !== 32) return undefined;
  if (kt.blobType.startsWith("ssh-rsa") && mpintBits(fields[1]) < RSA_MIN_BITS) return undefined;
  if (!kt.plainType) return blob;
  const plain = [new TextEncoder().encode(kt.plainType), ...fields].map(wireString);
  const out = new Uint8Array(plain.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of plain) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The SHA256 fingerprint of a blob, as `ssh-keygen -l` prints it. */
export function sshFingerprint(blob: Uint8Array): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/**
 * A key read at `s` (sshkey_read): a known type name, blanks, a blob of that
 * type, then anything. Undefined when `s` does not start with one.
 */
function readKey(s: string): Omit<AuthorizedKey, "line" | "options"> | undefined {
  let i = 0;
  while (i < s.length && !isBlank(s[i])) i++;
  if (i === s.length) return undefined;
  const type = s.slice(0, i);
  const kt = KEY_TYPES.get(type);
  if (!kt) return undefined;
  while (i < s.length && isBlank(s[i])) i++;
  const start = i;
  while (i < s.length && !isBlank(s[i])) i++;
  const blob = decodeBase64(s.slice(start, i));
  if (!blob) return undefined;
  const key = keyBlob(blob, kt);
  if (!key) return undefined;
  return { type, fingerprint: sshFingerprint(key), comment: s.slice(i).trim() };
}

/** Where the options end (sshkey_advance_past_options); undefined for an unclosed quote. */
function pastOptions(s: string): number | undefined {
  let quoted = false;
  let i = 0;
  for (; i < s.length && (quoted || !isBlank(s[i])); i++) {
    if (s[i] === "\\" && s[i + 1] === '"') i++;
    else if (s[i] === '"') quoted = !quoted;
  }
  return quoted && i >= s.length ? undefined : i;
}

/**
 * The keys in an authorized_keys file, in file order. Lines that are not
 * keys are skipped, as sshd skips them; they are never quoted anywhere (a
 * private key pasted by mistake is a secret).
 */
export function parseAuthorizedKeys(text: string): ParseResult<AuthorizedKey> {
  const entries: AuthorizedKey[] = [];
  let lineNo = 0;
  for (const raw of text.split("\n")) {
    lineNo++;
    // A C string: a NUL ends the line for sshd.
    const nul = raw.indexOf("\0");
    const l = nul >= 0 ? raw.slice(0, nul) : raw;
    let i = 0;
    while (i < l.length && isBlank(l[i])) i++;
    if (i === l.length || l[i] === "#") continue;
    const rest = l.slice(i);
    const bare = readKey(rest);
    if (bare) {
      entries.push({ line: lineNo, options: "", ...bare });
      continue;
    }
    const end = pastOptions(rest);
    if (end === undefined) continue;
    let k = end;
    while (k < rest.length && isBlank(rest[k])) k++;
    const key = readKey(rest.slice(k));
    if (key) entries.push({ line: lineNo, options: rest.slice(0, end), ...key });
  }
  return { entries, errors: [] };
}

/**
 * The option names of `options` (`command`, `no-pty`, ...), lower-cased
 * (sshd compares them without case), split at commas outside quotes.
 */
export function optionNames(options: string): string[] {
  const names: string[] = [];
  let quoted = false;
  let cur = "";
  for (let i = 0; i < options.length; i++) {
    const c = options[i];
    if (c === "\\" && options[i + 1] === '"') {
      cur += c + options[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      names.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  names.push(cur);
  return names.filter((n) => n !== "").map((n) => n.replace(/=.*$/s, "").toLowerCase());
}

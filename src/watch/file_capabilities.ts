/**
 * A file's capabilities (the `security.capability` extended attribute that
 * `setcap` writes), as `getcap` names them: a binary given `cap_setuid+ep`
 * runs with root's power to change its user, whoever starts it, which is
 * as good as a setuid-root file and leaves its mode untouched.
 *
 * @module
 */
import { lazyLibc } from "../libc.ts";

const { libc, errno } = lazyLibc(
  {
    lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
    __errno_location: { parameters: [], result: "pointer" },
  } as const,
);

/** Capability names by bit (linux/capability.h). */
const CAPS = [
  "chown",
  "dac_override",
  "dac_read_search",
  "fowner",
  "fsetid",
  "kill",
  "setgid",
  "setuid",
  "setpcap",
  "linux_immutable",
  "net_bind_service",
  "net_broadcast",
  "net_admin",
  "net_raw",
  "ipc_lock",
  "ipc_owner",
  "sys_module",
  "sys_rawio",
  "sys_chroot",
  "sys_ptrace",
  "sys_pacct",
  "sys_admin",
  "sys_boot",
  "sys_nice",
  "sys_resource",
  "sys_time",
  "sys_tty_config",
  "mknod",
  "lease",
  "audit_write",
  "audit_control",
  "setfcap",
  "mac_override",
  "mac_admin",
  "syslog",
  "wake_alarm",
  "block_suspend",
  "audit_read",
  "perfmon",
  "bpf",
  "checkpoint_restore",
];

const ENODATA = 61;
const enc = new TextEncoder();
const cString = (s: string) => enc.encode(s + "\0");

/** The names of the bits set in the two 32-bit halves `lo`, `hi`. */
function names(lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    const set = bit < 32 ? (lo >>> bit) & 1 : (hi >>> (bit - 32)) & 1;
    if (set) out.push(`cap_${CAPS[bit] ?? bit}`);
  }
  return out;
}

/**
 * Reads `security.capability` of `path` (not following a symlink): getcap's
 * text (`cap_net_raw,cap_setuid=ep`), "" when the file has none, or
 * undefined when it cannot be read.
 */
export function fileCapabilities(path: string): string | undefined {
  const buf = new Uint8Array(64);
  const n = Number(libc().lgetxattr(cString(path), cString("security.capability"), buf, 64n));
  if (n < 0) return errno() === ENODATA ? "" : undefined;
  return capabilitiesText(buf.subarray(0, n));
}

/**
 * getcap's text of a raw `security.capability` value, or undefined when it
 * is too short to be one.
 */
export function capabilitiesText(bytes: Uint8Array): string | undefined {
  const n = bytes.length;
  if (n < 12) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, n);
  const magic = v.getUint32(0, true);
  const effective = (magic & 1) !== 0;
  const two = (magic & 0xff000000) >>> 24 >= 2 && n >= 20;
  const permitted = names(v.getUint32(4, true), two ? v.getUint32(12, true) : 0);
  const inheritable = names(v.getUint32(8, true), two ? v.getUint32(16, true) : 0);
  const parts: string[] = [];
  if (permitted.length) parts.push(`${permitted.join(",")}=${effective ? "e" : ""}p`);
  if (inheritable.length) parts.push(`${inheritable.join(",")}=i`);
  return parts.join(" ");
}

/**
 * The one place that converts between user space's view of a file's identity
 * (`stat()`'s st_dev in glibc's makedev encoding, and st_ino) and the kernel's
 * (`s_dev` = major << 20 | minor), and encodes the keys of the BPF maps.
 *
 * @module
 */

/** A file identity as the kernel sees it. */
export interface InodeId {
  /** Kernel dev_t: major << 20 | minor. */
  dev: number;
  ino: bigint;
}

/** Converts glibc's st_dev (makedev encoding) to the kernel's s_dev. */
export function kernelDev(stDev: number | bigint): number {
  const d = BigInt(stDev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return Number(((major << 20n) | (minor & 0xfffffn)) & 0xffffffffn);
}

/** `major:minor` of a kernel dev_t, for people. */
export function devString(dev: number): string {
  return `${dev >>> 20}:${dev & 0xfffff}`;
}

/** The identity of an existing path from `Deno.lstat`/`Deno.stat` info. */
export function inodeOf(info: Deno.FileInfo): InodeId {
  if (info.dev === null || info.ino === null) throw new Error("stat gave no dev/ino (not Linux?)");
  return { dev: kernelDev(info.dev), ino: BigInt(info.ino) };
}

/** A map-key string for JS Maps: `dev:ino`. */
export function inodeKeyString(id: InodeId): string {
  return `${id.dev}:${id.ino}`;
}

/** The inode whose inodeKeyString() is `key`. */
export function inodeOfKeyString(key: string): InodeId {
  const i = key.indexOf(":");
  return { dev: Number(key.slice(0, i)), ino: BigInt(key.slice(i + 1)) };
}

/** Decodes struct fim_key (a key read back from a BPF map): its inode. */
export function decodeInodeKey(bytes: Uint8Array): InodeId {
  const v = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return { dev: v.getUint32(8, true), ino: v.getBigUint64(0, true) };
}

/**
 * Encodes struct fim_key (ino u64, dev u32, pad u32), into `into` when given
 * (a kept buffer for a synchronous call, see CPathBuffer), else new bytes.
 */
export function encodeInodeKey(
  id: InodeId,
  into: Uint8Array<ArrayBuffer> = new Uint8Array(16),
): Uint8Array<ArrayBuffer> {
  const v = new DataView(into.buffer, into.byteOffset, 16);
  v.setBigUint64(0, id.ino, true);
  v.setUint32(8, id.dev >>> 0, true);
  v.setUint32(12, 0, true);
  return into;
}

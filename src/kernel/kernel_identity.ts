/**
 * A file's identity as the kernel's hooks see it: the superblock's device
 * (`inode->i_sb->s_dev`) with the inode number. `stat()` does not always
 * give that device: btrfs reports each subvolume's own anonymous device, and
 * overlayfs a per-layer pseudo device, while the kernel's file events carry
 * the superblock's. The kernel publishes every mount's `s_dev` in
 * /proc/self/mountinfo (field 3, `MAJOR:MINOR`), so the device is taken
 * from the mount that holds the file, and `stat()` gives only the inode
 * number.
 *
 * The table is read again at most every MOUNTS_MAX_AGE_MS, and at once when
 * its answer disagrees with `stat()` for a device not yet checked against
 * the table as it is now: a file on a file system mounted a moment ago is
 * never given the device of the mount it was mounted over. (A btrfs
 * subvolume or an overlayfs disagrees every time: its device costs one read
 * of the table, and one more each time the mounts change.)
 *
 * @module
 */
import { basename, dirname } from "node:path";
import type { InodeId } from "../watch/inode_key.ts";
import { kernelDev } from "../watch/inode_key.ts";

/** One line of /proc/self/mountinfo, as far as identity needs it. */
export interface MountEntry {
  /** The mount's id (field 1). */
  mountId: number;
  /** Where it is mounted, unescaped. */
  mountPoint: string;
  /** The superblock's device, kernel encoding (major << 20 | minor). */
  dev: number;
  fsType: string;
}

/** Undoes mountinfo's octal escapes (`\040` for a space, `\012` for a newline, ...). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo text; lines it cannot read are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const mounts: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    const dev = /^(\d+):(\d+)$/.exec(f[2] ?? "");
    if (f.length < 10 || sep < 0 || !dev) continue;
    mounts.push({
      mountId: Number(f[0]),
      mountPoint: unescape(f[4]),
      dev: ((Number(dev[1]) << 20) | Number(dev[2])) >>> 0,
      fsType: f[sep + 1] ?? "",
    });
  }
  return mounts;
}

/** The mount that holds real path `path`: the longest mount point above it; the last mounted wins. */
export function mountOf(path: string, mounts: MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const under = mp === "/" || path === mp || path.startsWith(mp.endsWith("/") ? mp : `${mp}/`);
    if (under && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** Re-read the mount table at most this often. */
const MOUNTS_MAX_AGE_MS = 500;

/** Maps paths to the kernel's device for them, caching the mount table and directory lookups. */
export class KernelIdentity {
  #mounts: MountEntry[] = [];
  #text = "";
  #readAt = -Infinity;
  /**
   * Directory path as given → its real path, the mount that holds its
   * entries, and the names in it that are mount points themselves.
   */
  #dirs = new Map<string, { real: string; mount?: MountEntry; mountedNames: Set<string> }>();
  /** Bumped each time the table read differs from the one before. */
  #generation = 0;
  /** The generation each `stat()` device that disagreed with the table was last checked against. */
  readonly #checked = new Map<number, number>();
  /** Superblock devices by mount id, for the table of generation #mountDevsOf (deviceOfStat). */
  readonly #mountDevs = new Map<number, number | undefined>();
  #mountDevsOf = -1;

  #refresh(force = false): void {
    const now = performance.now();
    if (!force && now - this.#readAt < MOUNTS_MAX_AGE_MS) return;
    this.#readAt = now;
    let text: string;
    try {
      text = Deno.readTextFileSync("/proc/self/mountinfo");
    } catch {
      return;
    }
    if (text === this.#text) return;
    this.#text = text;
    this.#mounts = parseMountinfo(text);
    this.#dirs.clear();
    this.#generation++;
  }

  /** The mount that holds `path` (absolute), or undefined when it cannot tell. */
  mountOf(path: string): MountEntry | undefined {
    this.#refresh();
    const dir = dirname(path);
    let d = this.#dirs.get(dir);
    if (d === undefined) {
      let real: string;
      try {
        real = Deno.realPathSync(dir);
      } catch {
        return undefined;
      }
      const prefix = real === "/" ? "/" : `${real}/`;
      const mountedNames = new Set<string>();
      for (const m of this.#mounts) {
        const rest = m.mountPoint.startsWith(prefix) ? m.mountPoint.slice(prefix.length) : "";
        if (rest && !rest.includes("/")) mountedNames.add(rest);
      }
      // An entry that is not a mount point itself is on the mount that holds the directory.
      d = { real, mount: mountOf(real, this.#mounts), mountedNames };
      if (this.#dirs.size > 65536) this.#dirs.clear();
      this.#dirs.set(dir, d);
    }
    const name = basename(path);
    if (!d.mountedNames.has(name)) return d.mount;
    // A file can be a mount point itself (a bind-mounted file).
    return mountOf(d.real === "/" ? `/${name}` : `${d.real}/${name}`, this.#mounts);
  }

  /**
   * Whether a birth time names the file at `path` for good: not on overlayfs,
   * which shows the layer's file, and whose copy-up (the first write to a
   * lower layer's file) makes a new one while the inode number stays.
   */
  keepsBirth(path: string): boolean {
    return this.mountOf(path)?.fsType !== "overlay";
  }

  /**
   * The kernel's device for `path`, given the device `stat()` (or lstat) gave
   * for it in kernel encoding: the holding mount's superblock device, or
   * `statDev` when the mount cannot be told.
   */
  deviceOf(path: string, statDev: number): number {
    const dev = this.mountOf(path)?.dev;
    if (dev === undefined || dev === statDev) return statDev;
    // A btrfs subvolume or an overlayfs; or a table from before this file system was mounted.
    if (this.#checked.get(statDev) === this.#generation) return dev;
    this.#refresh(true);
    if (this.#checked.size >= 4096) this.#checked.clear();
    this.#checked.set(statDev, this.#generation);
    return this.mountOf(path)?.dev ?? statDev;
  }

  /**
   * deviceOf() for an entry whose statx also named the mount it was reached
   * through (`mntId`, 5.8+): when that mount's superblock is the device
   * statx gave, that device, without a look up the path; else deviceOf().
   */
  deviceOfStat(path: string, statDev: number, mntId: number | undefined): number {
    if (mntId !== undefined) {
      this.#refresh();
      if (this.#mountDevsOf !== this.#generation) {
        this.#mountDevs.clear();
        this.#mountDevsOf = this.#generation;
      }
      let dev = this.#mountDevs.get(mntId);
      if (dev === undefined && !this.#mountDevs.has(mntId)) {
        dev = this.#mounts.find((m) => m.mountId === mntId)?.dev;
        if (this.#mountDevs.size < 4096) this.#mountDevs.set(mntId, dev);
      }
      if (dev === statDev) return statDev;
    }
    return this.deviceOf(path, statDev);
  }

  /** The superblock device of mount `mountId` (mountinfo's first field), if it is mounted. */
  deviceOfMount(mountId: number): number | undefined {
    this.#refresh();
    let m = this.#mounts.find((x) => x.mountId === mountId);
    if (!m) {
      this.#refresh(true); // mounted since the table was read
      m = this.#mounts.find((x) => x.mountId === mountId);
    }
    return m?.dev;
  }

  /**
   * Whether `st`, the statx of an open file, is inode `id` as the kernel
   * names it: the same inode number, on the same superblock. A path can
   * lead somewhere else by the time it is opened (a directory on the way
   * swapped for a symlink to another file system, where some file has the
   * same number): only the device tells. statx gives the superblock's device
   * on most file systems; where it gives another (btrfs subvolumes,
   * overlayfs), the mount the file was reached through tells it.
   */
  isInode(st: { ino: bigint; dev: number; mntId?: number }, id: InodeId): boolean {
    if (st.ino !== id.ino) return false;
    if (st.dev === id.dev) return true;
    return st.mntId !== undefined && this.deviceOfMount(st.mntId) === id.dev;
  }

  /** The kernel's identity of `path`, from its `stat()` info. */
  inodeOf(path: string, info: Deno.FileInfo): InodeId {
    if (info.dev === null || info.ino === null) {
      throw new Error("stat gave no dev/ino (not Linux?)");
    }
    return { dev: this.deviceOf(path, kernelDev(info.dev)), ino: BigInt(info.ino) };
  }
}

/** The process-wide instance. */
export const kernelIdentity: KernelIdentity = new KernelIdentity();

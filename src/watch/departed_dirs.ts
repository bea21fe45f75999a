/**
 * Watched directories whose inode left their path (removed, renamed away,
 * replaced), with the kernel time it left. The kernel names a directory in
 * its entry events by inode number only, and its key stays in the maps until
 * the parent's listing takes the path out of the watch set; ext4 and tmpfs
 * give a freed number to the next inode made, so meanwhile another
 * program's directory can carry the old one's number. An entry event on that
 * inode stamped after it left is not the old path's: it is credited to no
 * path (the listings say what the tree holds).
 *
 * @module
 */
import { type InodeId, inodeKeyString } from "./inode_key.ts";

/** How long a departure is remembered: longer than an event waits in the ring and the queues. */
const KEEP_MS = 30_000;
/** Bound on remembered departures (the oldest go first). */
const KEEP_MAX = 4096;

interface Departure {
  /** CLOCK_MONOTONIC (the kernel events' clock) of the event that took the inode away. */
  ns: bigint;
  /** performance.now() when it was noted (for the age bound). */
  at: number;
}

/** The (path, inode) pairs that parted lately, and when. */
export class DepartedDirs {
  readonly #byKey = new Map<string, Departure>();

  /**
   * Directory `path`, last read at inode `id`, is no longer there as of kernel time `ns`
   * (the event that removed or replaced its name). The earliest time noted stays.
   */
  note(path: string, id: InodeId, ns: bigint): void {
    const k = `${inodeKeyString(id)} ${path}`;
    const now = performance.now();
    const had = this.#byKey.get(k);
    if (had && had.ns <= ns) return;
    this.#byKey.delete(k);
    this.#byKey.set(k, { ns, at: now });
    for (const [key, d] of this.#byKey) {
      if (this.#byKey.size <= KEEP_MAX && now - d.at <= KEEP_MS) break;
      this.#byKey.delete(key);
    }
  }

  /**
   * Whether an event stamped `ns` on directory inode `dir` is after that inode left `path`
   * (so it is not about `path`).
   */
  after(path: string, dir: InodeId, ns: bigint): boolean {
    const d = this.#byKey.get(`${inodeKeyString(dir)} ${path}`);
    return d !== undefined && ns >= d.ns;
  }

  /** Forgets that `id` left `path` (it is back there: renamed away and back). */
  forget(path: string, id: InodeId): void {
    this.#byKey.delete(`${inodeKeyString(id)} ${path}`);
  }

  /** Number of departures remembered. */
  get size(): number {
    return this.#byKey.size;
  }
}

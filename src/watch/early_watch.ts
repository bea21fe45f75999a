/**
 * Watch before read, at startup: each file's inode enters the kernel map
 * before the file's first read, not after it. A kernel event about such an
 * inode that arrives before the watch set has recorded it is held, and
 * replayed once the watch set knows the inode, so a write that falls between
 * the first read and the record is re-read instead of lost.
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { type InodeId, inodeKeyString } from "./inode_key.ts";
import type { WatchSet } from "./watch_set.ts";
import { lstatId } from "./native_fs.ts";

/** The kernel map operations early watching needs. */
export interface EarlyKernel {
  /** Puts inodes in the map (FimKernel.watchInodesEarly); says which went in. */
  watchInodesEarly(items: readonly { id: InodeId; key: string; flags: number }[]): boolean[];
  unwatchInode(id: InodeId): void;
}

/** Flags of the kernel's watched map (FimWatch). */
const FLAG = { file: 1, dir: 2 } as const;

/** Most events held at once; beyond that the oldest are routed as they are. */
const MAX_HELD = 4096;

/** Inodes put in the kernel map ahead of the watch set, and the events about them. */
export class EarlyWatch {
  readonly #ids = new Map<string, InodeId>();
  #held: FimEvent[] = [];

  constructor(
    readonly kernel: EarlyKernel,
    readonly watch: WatchSet,
    readonly route: (e: FimEvent) => void,
  ) {}

  /**
   * Puts the inodes of `items`' paths in the kernel map before the paths are
   * read (best effort), all in one batch. The path itself (lstat, as the
   * read describes it): a symlink's own inode, never its target's.
   */
  before(items: readonly { path: string; kind: "file" | "dir" }[]): void {
    const batch: { id: InodeId; key: string; flags: number }[] = [];
    for (const { path, kind } of items) {
      let id: InodeId;
      try {
        const st = lstatId(path);
        if (!st) continue; // missing: the read says so
        id = { dev: kernelIdentity.deviceOf(path, st.dev), ino: st.ino };
      } catch {
        continue; // unreadable: the read says so
      }
      const key = inodeKeyString(id);
      if (this.#ids.has(key) || this.watch.hasInodeKey(key)) continue;
      this.#ids.set(key, id);
      batch.push({ id, key, flags: FLAG[kind] });
    }
    const written = this.kernel.watchInodesEarly(batch);
    batch.forEach((b, i) => {
      // A full map: the watch set reports it when it records the path.
      if (!written[i]) this.#ids.delete(b.key);
    });
  }

  /** Whether kernel event `e` is held (its inode is watched early but not known yet). */
  hold(e: FimEvent): boolean {
    const key = inodeKeyString({ dev: e.dev, ino: e.ino });
    if (!this.#ids.has(key) || this.watch.hasInodeKey(key)) return false;
    if (this.#held.length >= MAX_HELD) this.route(this.#held.shift()!);
    this.#held.push(e);
    return true;
  }

  /**
   * After the watch set recorded a batch of paths: replays held events whose
   * inode it knows now. With `final`, also takes inodes nobody recorded (the
   * file was replaced between the stat and the read) out of the kernel map.
   */
  settle(final = false): void {
    const held = this.#held;
    this.#held = [];
    for (const e of held) {
      if (this.watch.hasInode({ dev: e.dev, ino: e.ino })) this.route(e);
      else this.#held.push(e);
    }
    for (const [k, id] of this.#ids) {
      if (this.watch.hasInodeKey(k)) this.#ids.delete(k);
      else if (final) {
        this.kernel.unwatchInode(id);
        this.#ids.delete(k);
      }
    }
    if (final) this.#held = [];
  }
}

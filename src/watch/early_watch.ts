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
import { lstat } from "./native_fs.ts";

/** The kernel map operations early watching needs. */
export interface EarlyKernel {
  watchInode(id: InodeId, flags: number): void;
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
   * Puts `path`'s inode in the kernel map before the path is read (best
   * effort). The path itself (lstat, as the read describes it): a symlink's
   * own inode, never its target's.
   */
  before(path: string, kind: "file" | "dir"): void {
    let id: InodeId;
    try {
      const st = lstat(path);
      if (!st) return; // missing: the read says so
      id = { dev: kernelIdentity.deviceOf(path, st.dev), ino: st.ino };
    } catch {
      return; // unreadable: the read says so
    }
    const k = inodeKeyString(id);
    if (this.#ids.has(k) || this.watch.hasInode(id)) return;
    try {
      this.kernel.watchInode(id, FLAG[kind]);
      this.#ids.set(k, id);
    } catch {
      // a full map: the watch set reports it when it records the path
    }
  }

  /** Whether kernel event `e` is held (its inode is watched early but not known yet). */
  hold(e: FimEvent): boolean {
    const id = { dev: e.dev, ino: e.ino };
    if (!this.#ids.has(inodeKeyString(id)) || this.watch.hasInode(id)) return false;
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
      if (this.watch.hasInode(id)) this.#ids.delete(k);
      else if (final) {
        this.kernel.unwatchInode(id);
        this.#ids.delete(k);
      }
    }
    if (final) this.#held = [];
  }
}

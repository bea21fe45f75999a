/**
 * The watch set: every watched path with its current inode, indexed by path,
 * by inode and by basename, and kept in step with the kernel's maps.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import type { FileState } from "./file_state.ts";
import { type InodeId, inodeKeyString, kernelName } from "./inode_key.ts";

/** What the watch set needs from the kernel side (the BPF maps). */
export interface KernelWatchTable {
  watchInode(id: InodeId, flags: number): void;
  unwatchInode(id: InodeId): void;
  watchName(name: string): void;
  unwatchName(name: string): void;
}

/** Kernel flags for a watched inode. */
export const WATCH_FILE = 1;
/** Kernel flags for a watched directory inode. */
export const WATCH_DIR = 2;

/** One watched path. */
export interface WatchEntry {
  path: string;
  kind: "file" | "dir";
  /** The configured path this came from. */
  root: string;
  /** The last known state; undefined while the path does not exist. */
  state?: FileState;
}

/** Paths ↔ inodes ↔ basenames, mirrored into the kernel. */
export class WatchSet {
  readonly #byPath = new Map<string, WatchEntry>();
  readonly #byInode = new Map<string, Set<string>>();
  readonly #byName = new Map<string, Set<string>>();

  constructor(readonly kernel: KernelWatchTable) {}

  /** Number of watched paths. */
  get size(): number {
    return this.#byPath.size;
  }

  /** Number of watched paths that exist. */
  get present(): number {
    let n = 0;
    for (const e of this.#byPath.values()) if (e.state) n++;
    return n;
  }

  /** Every entry. */
  entries(): WatchEntry[] {
    return [...this.#byPath.values()];
  }

  /** The entry for `path`. */
  get(path: string): WatchEntry | undefined {
    return this.#byPath.get(path);
  }

  /** Paths currently at inode `id`. */
  pathsOfInode(id: InodeId): string[] {
    return [...(this.#byInode.get(inodeKeyString(id)) ?? [])];
  }

  /** Paths whose basename is `name` as the kernel reports it. */
  pathsNamed(name: string): string[] {
    return [...(this.#byName.get(name) ?? [])];
  }

  /** The watched directory at inode `id`, if any. */
  dirOfInode(id: InodeId): WatchEntry | undefined {
    for (const p of this.pathsOfInode(id)) {
      const e = this.#byPath.get(p);
      if (e?.kind === "dir") return e;
    }
    return undefined;
  }

  /** Whether `path` sits directly in a watched directory. */
  inWatchedDir(path: string): WatchEntry | undefined {
    const d = this.#byPath.get(dirname(path));
    return d?.kind === "dir" ? d : undefined;
  }

  /** Adds a path (not yet resolved to an inode). Its basename goes into the kernel filter. */
  add(path: string, kind: "file" | "dir", root: string): WatchEntry {
    const existing = this.#byPath.get(path);
    if (existing) return existing;
    const e: WatchEntry = { path, kind, root };
    this.#byPath.set(path, e);
    const name = kernelName(basename(path));
    let set = this.#byName.get(name);
    if (!set) {
      set = new Set();
      this.#byName.set(name, set);
      try {
        this.kernel.watchName(name);
      } catch (e) {
        this.notInKernel++;
        this.onKernelFull?.(e);
      }
    }
    set.add(path);
    return e;
  }

  /** Records the state of `path` and points the kernel at its (possibly new) inode. */
  setState(path: string, state: FileState | undefined): void {
    const e = this.#byPath.get(path);
    if (!e) return;
    const old = e.state?.id;
    const now = state?.id;
    if (old && (!now || inodeKeyString(old) !== inodeKeyString(now))) this.#unlinkInode(path, old);
    if (now && (!old || inodeKeyString(old) !== inodeKeyString(now))) {
      const k = inodeKeyString(now);
      let set = this.#byInode.get(k);
      if (!set) {
        set = new Set();
        this.#byInode.set(k, set);
      }
      set.add(path);
    }
    e.state = state;
    if (now) this.#watchInode(now);
  }

  /** Paths whose inode did not fit in the kernel's map (watched by reconcile only). */
  notInKernel = 0;

  #watchInode(id: InodeId): void {
    try {
      this.kernel.watchInode(id, this.#flagsOf(id));
    } catch (e) {
      // A full map (E2BIG) must not stop the agent: the path is still re-read on reconcile.
      this.notInKernel++;
      this.onKernelFull?.(e);
    }
  }

  /** Told when an inode cannot be added to the kernel map. */
  onKernelFull?: (e: unknown) => void;

  /** Stops watching `path` entirely. */
  remove(path: string): void {
    const e = this.#byPath.get(path);
    if (!e) return;
    if (e.state) this.#unlinkInode(path, e.state.id);
    this.#byPath.delete(path);
    const name = kernelName(basename(path));
    const set = this.#byName.get(name);
    set?.delete(path);
    if (set && set.size === 0) {
      this.#byName.delete(name);
      this.kernel.unwatchName(name);
    }
  }

  #flagsOf(id: InodeId): number {
    let flags = 0;
    for (const p of this.#byInode.get(inodeKeyString(id)) ?? []) {
      flags |= this.#byPath.get(p)?.kind === "dir" ? WATCH_DIR : WATCH_FILE;
    }
    return flags;
  }

  #unlinkInode(path: string, id: InodeId): void {
    const k = inodeKeyString(id);
    const set = this.#byInode.get(k);
    set?.delete(path);
    if (!set || set.size === 0) {
      this.#byInode.delete(k);
      this.kernel.unwatchInode(id);
    } else {
      this.#watchInode(id);
    }
  }
}

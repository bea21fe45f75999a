/**
 * The live tree: every watched path with its current inode, indexed by path,
 * by inode, by basename and by parent directory, kept in step with the
 * kernel's maps. The one owner of how the watched tree changes: new entries
 * in watched directories (and whole new subtrees under a recursive watch),
 * directories renamed (everything below re-pathed), entries gone.
 *
 * @module
 */
import { FimWatch } from "../kernel/fim_event.ts";
import { basename, dirname } from "node:path";
import type { FileState } from "./file_state.ts";
import { type EntryType, listDir } from "./native_fs.ts";
import { type InodeId, inodeKeyString } from "./inode_key.ts";
import { DirKeys, type KernelNameTable } from "./kernel_keys.ts";
import { SetMap } from "./set_map.ts";
import { lastName, parentPath } from "./path_names.ts";
import { StateTable } from "./state_table.ts";
import { chargedOwner, type OwnerBudget } from "./owner_budget.ts";

/** What the watch set needs from the kernel side (the BPF maps). */
export interface KernelWatchTable extends KernelNameTable {
  /** `marked`: an fsnotify mark was placed on the inode just now (FimKernel's mark gate). */
  watchInode(id: InodeId, flags: number, marked?: boolean): void;
  unwatchInode(id: InodeId): void;
}

/**
 * One watched path. Its last known state is kept packed in the watch set's
 * StateTable (`state` reads it out as a new object); `exists` and `id` read
 * no more than they say.
 */
export class WatchEntry {
  /** Its state's slot in `states`; -1 while the path does not exist. Set by the WatchSet only. */
  slot = -1;
  /** performance.now() when a re-read (a listing, for a directory) of it last started. */
  lookedAt?: number = undefined;
  /**
   * CLOCK_MONOTONIC (the kernel events' clock) when the re-read its state is from began:
   * a kernel event stamped before it is in that state already.
   */
  readNs?: bigint = undefined;
  /** The uid this entry is charged to (OwnerBudget), when it is. */
  charged?: number = undefined;

  constructor(
    /** The path; a directory renamed within the tree re-paths it (WatchSet.repath). */
    public path: string,
    /** What it is watched as; follows the path's type (WatchSet.retype). Set by the WatchSet only. */
    public kind: "file" | "dir",
    /** The configured path this came from. */
    readonly root: string,
    /** Where its state is kept. */
    readonly states: StateTable,
    /** A directory whose new subdirectories are watched too (recursive watch). */
    public recursive?: boolean,
    /** A directory reported as an entry only (created, deleted), its contents not watched. */
    public shallow?: boolean,
    /** Not read yet by the first baseline: kernel events for it wait for that read. */
    public awaitingBaseline?: boolean,
  ) {}

  /** The last known state; undefined while the path does not exist. */
  get state(): FileState | undefined {
    return this.slot < 0 ? undefined : this.states.get(this.slot);
  }

  /** Whether the path existed when last read. */
  get exists(): boolean {
    return this.slot >= 0;
  }

  /** The inode the path named when last read; undefined while it does not exist. */
  get id(): InodeId | undefined {
    return this.slot < 0 ? undefined : this.states.idOf(this.slot);
  }

  /** What the path was when last read (a regular file, a directory, ...); undefined while it does not exist. */
  get type(): EntryType | undefined {
    return this.slot < 0 ? undefined : this.states.typeOf(this.slot);
  }

  /** Whether the last known state has these ns stamps (a stamp it does not know matches). */
  stampsAre(ctimeNs: bigint, mtimeNs: bigint): boolean {
    return this.slot >= 0 && this.states.sameStamps(this.slot, ctimeNs, mtimeNs);
  }
}

/** What listing a watched directory found against the tree. */
export interface DirDiff {
  /** New entries, already added to the tree (without state): report them as created. */
  added: { path: string; type?: EntryType }[];
  /** Entries (and the subtrees under them) whose name is gone or now names another inode. */
  changed: string[];
  /** Directories renamed within the tree, already re-pathed: report the move. */
  moved: { from: string; to: string }[];
  /** New entries left unwatched: their owner is over its share (OwnerBudget). */
  refused: number;
}

/** Options for adding a path. */
export interface AddOptions {
  recursive?: boolean;
  shallow?: boolean;
  awaitingBaseline?: boolean;
}

/** Paths ↔ inodes ↔ basenames, mirrored into the kernel. */
export class WatchSet {
  /** What expect() said a start's first read is about to add, less what it added since. */
  #coming?: Set<string>;
  readonly #byPath = new Map<string, WatchEntry>();
  /** Every entry's last known state, packed. */
  readonly #states = new StateTable();
  readonly #byInode = new SetMap<string, string>();
  /**
   * Paths by basename, made at the first pathsNamed() (from #byPath) and kept
   * up from then on: only events the kernel could not place ask for it, and
   * most agents never see one. At 100,000 watched files it cost a start a
   * set insert a file, and the heap its size for the rest of the agent's life.
   */
  #byName?: SetMap<string, string>;
  readonly #children = new Map<string, Set<string>>();
  /** Watched directories placed for the kernel by path (keys.hold), from their first state on. */
  readonly #placed = new WeakSet<WatchEntry>();

  /** (parent directory inode, name) of every watched path, as the kernel matches them. */
  readonly keys: DirKeys;

  constructor(readonly kernel: KernelWatchTable) {
    this.keys = new DirKeys(kernel);
    this.keys.onKernelFull = (e) => {
      this.notInKernel++;
      this.onKernelFull?.(e);
    };
  }

  /**
   * Charges the entries that listings add (after the start) to their owners;
   * none when undefined.
   */
  budget?: OwnerBudget;
  /** Entries refused in each watched directory's last listing. */
  readonly #refusedIn = new Map<string, number>();

  /** Told, for each directory that refused entries, when an entry charged to a user is removed. */
  onRoomFreed?: (dir: string) => void;

  /** Entries that watched directories hold but that are not watched: their owner is over its share. */
  get refused(): number {
    let n = 0;
    for (const c of this.#refusedIn.values()) n += c;
    return n;
  }

  /** Number of watched paths. */
  get size(): number {
    return this.#byPath.size;
  }

  /** Number of watched paths that exist. */
  get present(): number {
    let n = 0;
    for (const e of this.#byPath.values()) if (e.exists) n++;
    return n;
  }

  /** Every entry. */
  entries(): WatchEntry[] {
    return [...this.#byPath.values()];
  }

  /** Puts `id` back in the kernel's map with its flags (the self-test found it taken out). */
  restoreInode(id: InodeId): void {
    this.#watchInode(id);
  }

  /** The entry for `path`. */
  get(path: string): WatchEntry | undefined {
    return this.#byPath.get(path);
  }

  /** Paths currently at inode `id`. */
  pathsOfInode(id: InodeId): string[] {
    return this.#byInode.get(inodeKeyString(id));
  }

  /** Whether some path is at inode `id` (pathsOfInode without the copy). */
  hasInode(id: InodeId): boolean {
    return this.hasInodeKey(inodeKeyString(id));
  }

  /** Whether some path is at the inode whose inodeKeyString() is `key`. */
  hasInodeKey(key: string): boolean {
    return this.#byInode.has(key);
  }

  /** Paths whose basename is `name` (only for paths the kernel could not place). */
  pathsNamed(name: string): string[] {
    if (!this.#byName) {
      this.#byName = new SetMap();
      for (const p of this.#byPath.keys()) this.#byName.add(basename(p), p);
    }
    return this.#byName.get(name);
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
  add(path: string, kind: "file" | "dir", root: string, opts: AddOptions = {}): WatchEntry {
    const existing = this.#byPath.get(path);
    if (existing) return existing;
    const e = new WatchEntry(
      path,
      kind,
      root,
      this.#states,
      opts.recursive,
      opts.shallow,
      opts.awaitingBaseline,
    );
    this.#byPath.set(path, e);
    // Known from now on: what expect() said is coming shrinks as the read adds it (at 100,000
    // files the whole set was 3-4 MiB of the heap at the read's end, its peak).
    this.#coming?.delete(path);
    this.#linkChild(path);
    this.#indexName(path);
    return e;
  }

  /**
   * Records the state of `path` (never its content) and points the kernel at
   * its (possibly new) inode.
   */
  setState(path: string, state: FileState | undefined): void {
    const e = this.#byPath.get(path);
    if (!e) return;
    const old = e.id;
    const now = state?.id;
    if (old && (!now || inodeKeyString(old) !== inodeKeyString(now))) this.#unlinkInode(path, old);
    if (now && (!old || inodeKeyString(old) !== inodeKeyString(now))) {
      this.#byInode.add(inodeKeyString(now), path);
    }
    this.#keep(e, state);
    if (now) this.#watchInode(now);
    // Named to the kernel by path only once its inode is in the watch map: a path
    // through it is placed on its tree-watched ancestor until then, never on an
    // inode the kernel does not watch (which would drop the event).
    if (e.kind === "dir" && !e.shallow) {
      if (now && !this.#placed.has(e)) {
        this.#placed.add(e);
        this.keys.hold(path);
      } else if ((old && inodeKeyString(old)) !== (now && inodeKeyString(now))) {
        // At a new inode (removed and made again), or gone: place it anew.
        this.keys.refresh([path]);
      }
    }
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

  /**
   * `path` is now a directory where it was watched as a file (a missing watched path made as a
   * directory, a file replaced by one), or the reverse: its entry becomes what a listing of its
   * directory would have added, so a directory is listed (and its files watched) and a file's
   * writes are reported. Call it before setState() of the new inode, whose kernel flags and
   * fanotify marks follow the kind. Returns whether the kind changed; what was below a directory
   * is then for the caller to re-read.
   */
  retype(path: string, kind: "file" | "dir"): boolean {
    const e = this.#byPath.get(path);
    if (!e || e.kind === kind) return false;
    e.kind = kind;
    if (kind === "dir") {
      // Below a directory of its own watch: as that directory's listing adds one. Else the
      // watch's own path: as configured (recursive or not, never shallow).
      const parent = this.inWatchedDir(path);
      if (parent && parent.root === e.root && !parent.shallow) {
        e.recursive = parent.recursive;
        e.shallow = !parent.recursive;
      } else e.shallow = false;
    } else if (this.#placed.delete(e)) this.keys.release(path);
    return true;
  }

  /** Stops watching `path` entirely. */
  remove(path: string): void {
    const e = this.#byPath.get(path);
    if (!e) return;
    const id = e.id;
    if (id) this.#unlinkInode(path, id);
    this.#keep(e, undefined);
    this.#refusedIn.delete(path);
    if (e.charged !== undefined) {
      this.budget?.release(e.charged);
      // Room again: the directories that refused entries list them anew.
      for (const dir of this.#refusedIn.keys()) this.onRoomFreed?.(dir);
    }
    this.#byPath.delete(path);
    this.#children.get(dirname(path))?.delete(path);
    this.#unindexName(path);
    if (this.#placed.delete(e)) this.keys.release(path);
  }

  #indexName(path: string): void {
    const name = lastName(path);
    this.#byName?.add(name, path);
    const dir = parentPath(path);
    if (dir !== path) this.keys.ref(dir, name);
  }

  #unindexName(path: string): void {
    const name = lastName(path);
    this.#byName?.delete(name, path);
    const dir = parentPath(path);
    if (dir !== path) this.keys.unref(dir, name);
  }

  #linkChild(path: string): void {
    const parent = dirname(path);
    if (parent === path) return;
    let set = this.#children.get(parent);
    if (!set) {
      set = new Set();
      this.#children.set(parent, set);
    }
    set.add(path);
  }

  /** Watched paths directly in directory `path`. */
  childrenOf(path: string): string[] {
    return [...(this.#children.get(path) ?? [])];
  }

  /** Every watched path under `path` (not itself), deepest last. */
  subtree(path: string): string[] {
    const out: string[] = [];
    const walk = (p: string) => {
      for (const c of this.#children.get(p) ?? []) {
        out.push(c);
        walk(c);
      }
    };
    walk(path);
    return out;
  }

  /**
   * The watches at the inodes `ids`, or below one: below a directory that
   * holds a watched name, or one watched whole, is every watch under a path
   * it has (an entry event in it may have replaced any of them). Undefined
   * when no watch is at or below one of `ids`: a held inode the watch set no
   * longer knows, which only a rescan of every watch answers.
   */
  atOrBelowInodes(ids: readonly InodeId[]): WatchEntry[] | undefined {
    const roots = new Set<string>();
    for (const id of ids) {
      const at = [...this.pathsOfInode(id), ...this.keys.dirPathsOf(id)];
      if (at.length === 0) return undefined;
      for (const p of at) roots.add(p);
    }
    const below = (path: string) => {
      for (let p = path;;) {
        if (roots.has(p)) return true;
        const up = parentPath(p);
        if (up === p) return false;
        p = up;
      }
    };
    return this.entries().filter((e) => below(e.path));
  }

  /** Stops watching `path` and everything under it. */
  removeTree(path: string): void {
    for (const p of this.subtree(path).reverse()) this.remove(p);
    this.remove(path);
  }

  /**
   * Moves `from` and everything under it to `to` (a directory renamed): same
   * entries, same inodes, new paths. The kernel keeps watching the inodes.
   */
  repath(from: string, to: string): void {
    const paths = [from, ...this.subtree(from)];
    const moved = paths.map((p) => this.#byPath.get(p)!).filter((e) => e);
    // The moved directory's own name changes; below it, only the directories' paths.
    this.#unindexName(from);
    for (const e of moved) {
      this.#byPath.delete(e.path);
      this.#children.get(dirname(e.path))?.delete(e.path);
      this.#children.delete(e.path);
      if (e.path !== from) this.#byName?.delete(basename(e.path), e.path);
      const id = e.id;
      if (id) this.#byInode.delete(inodeKeyString(id), e.path);
    }
    this.keys.repath(from, to);
    for (const e of moved) {
      const old = e.path;
      e.path = to + old.slice(from.length);
      this.#byPath.set(e.path, e);
      this.#linkChild(e.path);
      if (old === from) this.#indexName(e.path);
      else this.#byName?.add(basename(e.path), e.path);
      const id = e.id;
      if (id) this.#byInode.add(inodeKeyString(id), e.path);
    }
  }

  /**
   * Lists watched directory `dir` and brings the tree in line with it: new
   * names are added (a new directory under a recursive watch as a watched
   * directory, otherwise as a shallow entry), a directory that reappears
   * here under a new name is re-pathed, and names that are gone or now
   * point at another inode are returned to be re-read. `admits` filters new
   * entries (include/exclude); an entry whose owner is over its share of the
   * budget is left out too, and returned as refused. `mayHaveMoved` says
   * whether a watched directory at another path can have moved to a new
   * name that has its inode number (false when the kernel said the name was
   * made by mkdir: a number freed by an rmdir and reused at once). Returns
   * undefined when `dir` cannot be listed.
   */
  syncDir(
    dir: string,
    admits: (path: string, isDir: boolean) => boolean = () => true,
    mayHaveMoved: (from: string, to: string) => boolean = () => true,
  ): DirDiff | undefined {
    const d = this.#byPath.get(dir);
    if (!d || d.kind !== "dir" || d.shallow) return undefined;
    const listing = listDir(dir);
    const diff: DirDiff = { added: [], changed: [], moved: [], refused: 0 };
    if (!listing) {
      diff.changed.push(...this.childrenOf(dir));
      return diff;
    }
    const seen = new Set<string>();
    const dirState = this.budget ? d.state : undefined;
    for (const ent of listing) {
      const path = dir === "/" ? `/${ent.name}` : `${dir}/${ent.name}`;
      seen.add(path);
      const known = this.#byPath.get(path);
      if (known) {
        const id = known.id;
        if (id && id.ino !== ent.ino) diff.changed.push(path);
        continue;
      }
      // Not added yet, but a start's first read is about to: its read, not this listing, says
      // what it is (a file that existed is no new file).
      if (this.#coming?.has(path)) continue;
      const isDir = ent.type === "dir";
      if (!admits(path, isDir)) continue;
      // A watched directory seen here under a new name: a rename inside the tree.
      const dirId = isDir ? d.id : undefined;
      if (dirId) {
        const from = this.pathsOfInode({ dev: dirId.dev, ino: ent.ino }).find((p) =>
          this.#byPath.get(p)?.kind === "dir" && p !== path && !p.startsWith(`${path}/`)
        );
        if (from && !path.startsWith(`${from}/`) && mayHaveMoved(from, path)) {
          this.repath(from, path);
          diff.moved.push({ from, to: path });
          continue;
        }
      }
      const owner = this.budget ? chargedOwner(dirState, path) : 0;
      if (this.budget && !this.budget.charge(owner, path)) {
        diff.refused++;
        continue;
      }
      const added = this.add(path, isDir ? "dir" : "file", d.root, {
        ...(isDir && d.recursive ? { recursive: true } : {}),
        ...(isDir && !d.recursive ? { shallow: true } : {}),
      });
      if (owner !== 0) added.charged = owner;
      diff.added.push({ path, type: ent.type });
    }
    for (const c of this.childrenOf(dir)) if (!seen.has(c)) diff.changed.push(c);
    if (diff.refused) this.#refusedIn.set(dir, diff.refused);
    else this.#refusedIn.delete(dir);
    return diff;
  }

  /** Puts `state` in `e`'s slot (taking one, or giving it back for undefined). */
  #keep(e: WatchEntry, state: FileState | undefined): void {
    if (state === undefined) {
      if (e.slot >= 0) this.#states.delete(e.slot);
      e.slot = -1;
    } else if (e.slot >= 0) this.#states.set(e.slot, state);
    else e.slot = this.#states.add(state);
  }

  /**
   * Paths a start's first read adds window by window, from now until
   * `expect(undefined)`: a directory listed meanwhile leaves them to that
   * read, where it would report each as new.
   */
  expect(paths: Iterable<string> | undefined): void {
    this.#coming = paths ? new Set(paths) : undefined;
  }

  /** Makes room for the states of `n` paths in all (a start that knows how many it watches). */
  reserve(n: number): void {
    this.#states.reserve(n);
  }

  #flagsOf(id: InodeId): number {
    let flags = 0;
    for (const p of this.#byInode.get(inodeKeyString(id))) {
      const e = this.#byPath.get(p);
      flags |= e?.kind === "dir" && !e.shallow ? FimWatch.Dir : FimWatch.File;
      if (e?.kind === "dir" && e.recursive) flags |= FimWatch.Tree;
    }
    return flags;
  }

  #unlinkInode(path: string, id: InodeId): void {
    const k = inodeKeyString(id);
    this.#byInode.delete(k, path);
    if (!this.#byInode.has(k)) {
      this.kernel.unwatchInode(id);
    } else {
      this.#watchInode(id);
    }
  }
}

/**
 * The kernel's view of the watched tree by name: every watched path as
 * (parent directory inode, name hash), every directory that holds one by the
 * hash of its path from the root and from each ancestor (so the kernel can
 * place "/etc/x", "etc/x" and "./x" on the same directory), and the
 * basenames for paths the kernel cannot place. Mirrors bpf/fim_dir_match.bpf.h;
 * the hashes must match fim_hash_range() and fim_dir_hash() there.
 *
 * @module
 */
import { type InodeId, inodeKeyString } from "./inode_key.ts";
import { lstat } from "./native_fs.ts";
import { pathBytes } from "./path_bytes.ts";
import { lastName, parentPath } from "./path_names.ts";

const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/**
 * FNV-1a 64 of `bytes` (fim_hash_range), in two 32-bit halves: BigInt
 * arithmetic allocates at every step, and a first baseline hashes a name
 * per file. The prime is 2^40 + 0x1b3, so h * prime is (h << 40) + h * 0x1b3
 * modulo 2^64; each partial product stays below 2^53.
 */
export function fimHash(bytes: Uint8Array): bigint {
  return fnvOf(bytes.length, (i) => bytes[i]);
}

/** FNV-1a 64 of the `n` bytes `at(0)`, ..., `at(n - 1)`. */
function fnvOf(n: number, at: (i: number) => number): bigint {
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < n; i++) {
    lo = (lo ^ at(i)) >>> 0;
    const low = lo * 0x1b3;
    hi = (hi * 0x1b3 + Math.floor(low / 0x100000000) + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

const NON_ASCII = /[\u0080-\uffff]/;

/** Hash of a name as the kernel keys it (an ASCII name is its own bytes: not encoded first). */
export function nameHash(name: string): bigint {
  if (NON_ASCII.test(name)) return fimHash(pathBytes(name));
  return fnvOf(name.length, (i) => name.charCodeAt(i));
}

/** Hash of a directory path's components (fim_dir_hash: "" and "." skipped). */
export function componentsHash(components: string[]): bigint {
  let h = OFFSET;
  for (const c of components) {
    if (c === "" || c === ".") continue;
    h = ((h ^ nameHash(c)) * PRIME) & MASK;
  }
  return h;
}

/** What the kernel side offers for names (the BPF maps). */
export interface KernelNameTable {
  watchEntry(dir: InodeId, nameHash: bigint): void;
  unwatchEntry(dir: InodeId, nameHash: bigint): void;
  watchDirPath(base: InodeId, pathHash: bigint, dir: InodeId): void;
  unwatchDirPath(base: InodeId, pathHash: bigint): void;
  watchBasename(nameHash: bigint): void;
  unwatchBasename(nameHash: bigint): void;
  /**
   * Holds watchEntry()'s names back until the returned function writes them
   * all at once (FimKernel.holdEntries); it says how many the map refused.
   */
  holdEntries?(): () => { failed: number; error?: unknown };
}

interface DirRecord {
  id?: InodeId;
  /** Watched names in it, with how many watched paths use each (hard-linked paths: 1). */
  names: Map<string, number>;
  /**
   * Names in it of directories that have a record (1 each): every directory above a watched
   * path is watched by name, so a rename, removal or replacement of any ancestor reaches user
   * space, which then looks up again what the paths below it name.
   */
  links: Set<string>;
  /** dir_paths keys registered for it. */
  pathKeys: { base: InodeId; hash: bigint }[];
  /** Held as a watched directory (whole), even with no names in it. */
  holds: number;
}

const NO_LINKS: ReadonlySet<string> = new Set();

const components = (path: string) => path.split("/").filter((c) => c !== "");

/**
 * Keys directory `dir` takes in the kernel's directory-path map: one for its
 * path from the root and one from each of its ancestors (at most; an ancestor
 * that is not a directory takes none).
 */
export function pathKeyCount(dir: string): number {
  return components(dir).length + 1;
}

/** Directories holding watched names, as the kernel sees them. */
export class DirKeys {
  readonly #dirs = new Map<string, DirRecord>();
  readonly #byId = new Map<string, Set<string>>();
  readonly #basenames = new Map<bigint, number>();
  /** Keys that did not fit in a kernel map. */
  failures = 0;
  /** Told when a key does not fit in a kernel map. */
  onKernelFull?: (e: unknown) => void;
  /**
   * Told when directory `dir`, at inode `id`, starts (`above`) or stops
   * holding the name of another directory with a record: it is above watched
   * paths, and a rename, removal or creation of that name in it changes what
   * they name (AncestorMarks marks it with fanotify for what the syscall hooks
   * cannot see).
   */
  onAncestor?: (dir: string, id: InodeId, above: boolean) => void;
  /** Told when `dir` was looked up (again) and placed: idOf() says what it is now. */
  onPlaced?: (dir: string) => void;

  constructor(readonly kernel: KernelNameTable) {}

  #try(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.failures++;
      this.onKernelFull?.(e);
    }
  }

  #record(dir: string): DirRecord {
    let d = this.#dirs.get(dir);
    if (!d) {
      d = { names: new Map(), links: new Set(), pathKeys: [], holds: 0 };
      this.#dirs.set(dir, d);
      this.#place(dir, d);
      const up = parentPath(dir);
      if (up !== dir) this.#link(up, lastName(dir));
    }
    return d;
  }

  /** Watches the name of the directory `dir/name`, which has a record, in `dir`. */
  #link(dir: string, name: string): void {
    const d = this.#record(dir);
    if (d.links.has(name)) return;
    d.links.add(name);
    if (!d.names.has(name) && d.id) this.#try(() => this.kernel.watchEntry(d.id!, nameHash(name)));
    if (d.links.size === 1 && d.id) this.onAncestor?.(dir, d.id, true);
  }

  #unlink(dir: string, name: string): void {
    const d = this.#dirs.get(dir);
    if (!d?.links.delete(name)) return;
    if (!d.names.has(name) && d.id) this.kernel.unwatchEntry(d.id, nameHash(name));
    if (d.links.size === 0 && d.id) this.onAncestor?.(dir, d.id, false);
    this.#maybeDrop(dir, d);
  }

  /** Every name of `d` the kernel watches: watched paths' and records' (#link). */
  #entryNames(d: DirRecord): Set<string> {
    return d.links.size ? new Set([...d.names.keys(), ...d.links]) : new Set(d.names.keys());
  }

  #maybeDrop(dir: string, d: DirRecord): void {
    if (d.names.size > 0 || d.links.size > 0 || d.holds > 0) return;
    this.#unplace(dir, d);
    this.#dirs.delete(dir);
    const up = parentPath(dir);
    if (up !== dir) this.#unlink(up, lastName(dir));
  }

  /** The names in `dir` of directories with a record (none when `dir` is above no watched path). */
  linksOf(dir: string): ReadonlySet<string> {
    return this.#dirs.get(dir)?.links ?? NO_LINKS;
  }

  /** The inode of directory `dir` when last placed; undefined when it was none (missing, a symlink). */
  idOf(dir: string): InodeId | undefined {
    return this.#dirs.get(dir)?.id;
  }

  /** Whether `dir` has a record: it holds watched names, is watched whole, or is above one that does. */
  has(dir: string): boolean {
    return this.#dirs.has(dir);
  }

  /**
   * Runs `fn` (many ref() calls: the watch set's first paths) with the names'
   * kernel writes held and then written at once, where the kernel table can.
   * A name the kernel refused counts as a failure, as one refused in ref() does.
   */
  batch(fn: () => void): void {
    const write = this.kernel.holdEntries?.();
    try {
      fn();
    } finally {
      const r = write?.();
      if (r?.failed) {
        this.failures += r.failed;
        this.onKernelFull?.(r.error);
      }
    }
  }

  /** Places watched directory `dir` for the kernel even while no name in it is watched. */
  hold(dir: string): void {
    this.#record(dir).holds++;
  }

  /** Undoes one hold(). */
  release(dir: string): void {
    const d = this.#dirs.get(dir);
    if (!d || d.holds === 0) return;
    d.holds--;
    this.#maybeDrop(dir, d);
  }

  /** Watches name `name` in directory `dir`. */
  ref(dir: string, name: string): void {
    const d = this.#record(dir);
    const n = d.names.get(name) ?? 0;
    d.names.set(name, n + 1);
    if (n > 0) return;
    const h = nameHash(name);
    if (d.id && !d.links.has(name)) this.#try(() => this.kernel.watchEntry(d.id!, h));
    const b = this.#basenames.get(h) ?? 0;
    this.#basenames.set(h, b + 1);
    if (b === 0) this.#try(() => this.kernel.watchBasename(h));
  }

  /** Stops watching `name` in `dir`. */
  unref(dir: string, name: string): void {
    const d = this.#dirs.get(dir);
    const n = d?.names.get(name);
    if (!d || !n) return;
    if (n > 1) {
      d.names.set(name, n - 1);
      return;
    }
    d.names.delete(name);
    const h = nameHash(name);
    if (d.id && !d.links.has(name)) this.kernel.unwatchEntry(d.id, h);
    const b = this.#basenames.get(h) ?? 0;
    if (b <= 1) {
      this.#basenames.delete(h);
      this.kernel.unwatchBasename(h);
    } else this.#basenames.set(h, b - 1);
    this.#maybeDrop(dir, d);
  }

  /** Directory paths at inode `id` that hold watched names. */
  dirPathsOf(id: InodeId): string[] {
    return [...(this.#byId.get(inodeKeyString(id)) ?? [])];
  }

  /** Every directory holding watched names. */
  dirs(): string[] {
    return [...this.#dirs.keys()];
  }

  /**
   * Looks every directory up again (after a mount, a replaced directory, a
   * rename) and moves its keys to what it resolves to now. Returns the
   * directories whose inode changed.
   */
  refresh(only?: string[]): string[] {
    const changed: string[] = [];
    for (const dir of only ?? [...this.#dirs.keys()]) {
      const d = this.#dirs.get(dir);
      if (!d) continue;
      const before = d.id ? inodeKeyString(d.id) : "";
      const st = lstat(dir);
      const now = st?.type === "dir" ? inodeKeyString({ dev: st.dev, ino: st.ino }) : "";
      // Ancestors may have moved even when the directory did not: re-place when anything
      // it resolves through did (a mount elsewhere, the common case, changes nothing here,
      // and every agent on the host sees every mount).
      if (before === now && before !== "" && sameKeys(d.pathKeys, this.#pathKeysOf(dir, st!))) {
        continue;
      }
      this.#unplace(dir, d);
      this.#place(dir, d);
      if (before !== now) changed.push(dir);
    }
    return changed;
  }

  /** Moves the records of `from` and every directory below it to `to` (a directory renamed). */
  repath(from: string, to: string): void {
    const moved = [...this.#dirs.keys()].filter((p) => p === from || p.startsWith(`${from}/`));
    const records = moved.map((p) => [p, this.#dirs.get(p)!] as const);
    for (const [p, d] of records) {
      this.#unplace(p, d);
      this.#dirs.delete(p);
    }
    for (const [p, d] of records) {
      const np = to + p.slice(from.length);
      this.#dirs.set(np, d);
      this.#place(np, d);
    }
    // The moved directory's name in its old parent and its new one.
    if (records.length) {
      const up = parentPath(from);
      if (up !== from) this.#unlink(up, lastName(from));
      const upTo = parentPath(to);
      if (upTo !== to) this.#link(upTo, lastName(to));
    }
  }

  /** The (ancestor inode, path hash) keys that place `dir` (whose lstat is `st`). */
  #pathKeysOf(dir: string, st: NonNullable<ReturnType<typeof lstat>>): DirRecord["pathKeys"] {
    const keys: DirRecord["pathKeys"] = [];
    const comps = components(dir);
    for (let i = 0; i <= comps.length; i++) {
      const base = i === 0 ? "/" : `/${comps.slice(0, i).join("/")}`;
      const bst = i === comps.length ? st : lstat(base);
      if (!bst || bst.type !== "dir") continue;
      keys.push({ base: { dev: bst.dev, ino: bst.ino }, hash: componentsHash(comps.slice(i)) });
    }
    return keys;
  }

  #place(dir: string, d: DirRecord): void {
    const st = lstat(dir);
    d.id = st?.type === "dir" ? { dev: st.dev, ino: st.ino } : undefined;
    try {
      this.#placeAt(dir, d, st);
    } finally {
      this.onPlaced?.(dir);
    }
  }

  #placeAt(dir: string, d: DirRecord, st: ReturnType<typeof lstat>): void {
    if (!d.id) return;
    const id = d.id;
    const k = inodeKeyString(id);
    let set = this.#byId.get(k);
    if (!set) {
      set = new Set();
      this.#byId.set(k, set);
    }
    set.add(dir);
    if (d.links.size) this.onAncestor?.(dir, id, true);
    for (const name of this.#entryNames(d)) {
      this.#try(() => this.kernel.watchEntry(id, nameHash(name)));
    }
    // From the root (absolute paths) and from every ancestor (dirfd, cwd), and "." itself.
    for (const key of this.#pathKeysOf(dir, st!)) {
      d.pathKeys.push(key);
      this.#try(() => this.kernel.watchDirPath(key.base, key.hash, id));
    }
  }

  #unplace(dir: string, d: DirRecord): void {
    for (const k of d.pathKeys) this.kernel.unwatchDirPath(k.base, k.hash);
    d.pathKeys = [];
    if (!d.id) return;
    const id = d.id;
    if (d.links.size) this.onAncestor?.(dir, id, false);
    for (const name of this.#entryNames(d)) this.kernel.unwatchEntry(id, nameHash(name));
    const k = inodeKeyString(id);
    const set = this.#byId.get(k);
    set?.delete(dir);
    if (set?.size === 0) this.#byId.delete(k);
    d.id = undefined;
  }
}

/** Whether two lists of placing keys are the same keys in the same order. */
function sameKeys(a: DirRecord["pathKeys"], b: DirRecord["pathKeys"]): boolean {
  return a.length === b.length &&
    a.every((k, i) =>
      k.hash === b[i].hash && k.base.dev === b[i].base.dev && k.base.ino === b[i].base.ino
    );
}

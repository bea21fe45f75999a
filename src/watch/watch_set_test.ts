import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import type { FileState } from "./file_state.ts";
import { type InodeId, inodeKeyString } from "./inode_key.ts";
import { FimWatch } from "../kernel/fim_event.ts";
import { type KernelWatchTable, WatchSet } from "./watch_set.ts";
import { lstat } from "./native_fs.ts";

/** The kernel's watch maps, as plain maps; `capacity` inodes at most, like a full BPF map. */
class FakeKernel implements KernelWatchTable {
  readonly inodes = new Map<string, number>();
  readonly basenames = new Set<bigint>();
  /** Directory inodes placed by path (dir_paths values), each with whether it was watched then. */
  readonly placed: string[] = [];
  constructor(readonly capacity = Infinity) {}
  watchInode(id: InodeId, flags: number): void {
    const k = inodeKeyString(id);
    if (!this.inodes.has(k) && this.inodes.size >= this.capacity) {
      throw new Error("bpf_map_update_elem: E2BIG");
    }
    this.inodes.set(k, flags);
  }
  unwatchInode(id: InodeId): void {
    this.inodes.delete(inodeKeyString(id));
  }
  watchEntry(): void {}
  unwatchEntry(): void {}
  watchDirPath(_base: InodeId, _hash: bigint, dir: InodeId): void {
    const k = inodeKeyString(dir);
    this.placed.push(this.inodes.has(k) ? k : `${k} unwatched`);
  }
  unwatchDirPath(): void {}
  watchBasename(h: bigint): void {
    this.basenames.add(h);
  }
  unwatchBasename(h: bigint): void {
    this.basenames.delete(h);
  }
}

const id = (ino: number): InodeId => ({ dev: 2049, ino: BigInt(ino) });
const state = (ino: number): FileState => ({
  id: id(ino),
  size: 1,
  mode: 0o100644,
  uid: 0,
  gid: 0,
  mtimeMs: 0,
});
const flagsOf = (k: FakeKernel, ino: number) => k.inodes.get(inodeKeyString(id(ino)));
const flagsOf2 = (k: FakeKernel, i: InodeId) => k.inodes.get(inodeKeyString(i));

Deno.test("setState() puts a file's inode in the kernel map, and a replacement takes its place", () => {
  const k = new FakeKernel();
  const w = new WatchSet(k);
  w.add("/nowhere/etc/passwd", "file", "/nowhere/etc/passwd");
  assertEquals([w.size, w.present], [1, 0]);
  w.setState("/nowhere/etc/passwd", state(10));
  assertEquals(flagsOf(k, 10), FimWatch.File);
  assertEquals(w.pathsOfInode(id(10)), ["/nowhere/etc/passwd"]);
  w.setState("/nowhere/etc/passwd", state(11)); // replaced by rename
  assertEquals([flagsOf(k, 10), flagsOf(k, 11)], [undefined, FimWatch.File]);
  w.setState("/nowhere/etc/passwd", undefined); // deleted
  assertEquals([k.inodes.size, w.present, w.size], [0, 0, 1]);
});

Deno.test("paths are found by their basename while they are watched, one name or many", () => {
  const w = new WatchSet(new FakeKernel());
  for (const p of ["/nowhere/x/f", "/nowhere/y/f", "/nowhere/y/g"]) w.add(p, "file", p);
  assertEquals(w.pathsNamed("f").sort(), ["/nowhere/x/f", "/nowhere/y/f"]);
  assertEquals(w.pathsNamed("g"), ["/nowhere/y/g"]);
  w.remove("/nowhere/x/f");
  assertEquals(w.pathsNamed("f"), ["/nowhere/y/f"]);
  w.remove("/nowhere/y/f");
  w.remove("/nowhere/y/g");
  assertEquals([w.pathsNamed("f"), w.pathsNamed("g")], [[], []]);
});

Deno.test("remove() keeps a hard-linked inode watched until its last path goes", () => {
  const k = new FakeKernel();
  const w = new WatchSet(k);
  for (const p of ["/nowhere/a", "/nowhere/b"]) {
    w.add(p, "file", p);
    w.setState(p, state(20));
  }
  assertEquals(w.pathsOfInode(id(20)).sort(), ["/nowhere/a", "/nowhere/b"]);
  w.remove("/nowhere/a");
  assertEquals(flagsOf(k, 20), FimWatch.File);
  w.remove("/nowhere/b");
  assertEquals(flagsOf(k, 20), undefined);
  assertEquals(w.pathsNamed("a"), []);
});

Deno.test("setState() flags a recursive directory as a tree and a shallow one as an entry", () => {
  const k = new FakeKernel();
  const w = new WatchSet(k);
  w.add("/nowhere/tree", "dir", "/nowhere/tree", { recursive: true });
  w.add("/nowhere/plain", "dir", "/nowhere/plain");
  w.add("/nowhere/plain/sub", "dir", "/nowhere/plain", { shallow: true });
  w.setState("/nowhere/tree", state(30));
  w.setState("/nowhere/plain", state(31));
  w.setState("/nowhere/plain/sub", state(32));
  assertEquals(flagsOf(k, 30), FimWatch.Dir | FimWatch.Tree);
  assertEquals(flagsOf(k, 31), FimWatch.Dir);
  assertEquals(flagsOf(k, 32), FimWatch.File);
  assertEquals(w.dirOfInode(id(31))?.path, "/nowhere/plain");
});

Deno.test("repath() moves a directory and everything under it, keeping their inodes", () => {
  const k = new FakeKernel();
  const w = new WatchSet(k);
  w.add("/nowhere/r", "dir", "/nowhere/r", { recursive: true });
  w.add("/nowhere/r/a", "dir", "/nowhere/r", { recursive: true });
  w.add("/nowhere/r/a/f", "file", "/nowhere/r");
  w.setState("/nowhere/r/a", state(40));
  w.setState("/nowhere/r/a/f", state(41));
  w.repath("/nowhere/r/a", "/nowhere/r/b");
  assertEquals([w.get("/nowhere/r/a"), w.get("/nowhere/r/a/f")], [undefined, undefined]);
  assertEquals(w.get("/nowhere/r/b/f")?.state?.id, id(41));
  assertEquals(w.pathsOfInode(id(41)), ["/nowhere/r/b/f"]);
  assertEquals(w.pathsNamed("b"), ["/nowhere/r/b"]);
  assertEquals(w.pathsNamed("a"), []);
  assertEquals(w.subtree("/nowhere/r"), ["/nowhere/r/b", "/nowhere/r/b/f"]);
  assertEquals(flagsOf(k, 41), FimWatch.File, "the kernel keeps watching the moved inode");
});

Deno.test("onKernelFull() hears of an inode the kernel map refuses, and the path stays watched", () => {
  const k = new FakeKernel(1);
  const w = new WatchSet(k);
  const refused: unknown[] = [];
  w.onKernelFull = (e) => refused.push(e);
  for (const [p, ino] of [["/nowhere/x", 50], ["/nowhere/y", 51]] as const) {
    w.add(p, "file", p);
    w.setState(p, state(ino));
  }
  assertEquals(refused.length, 1);
  assertEquals(w.notInKernel, 1);
  assertEquals(w.get("/nowhere/y")?.state?.id, id(51), "still re-read by reconcile");
});

Deno.test("syncDir() adds new names in a watched directory and reports the ones gone", async () => {
  await using dir = await tempDir();
  const k = new FakeKernel();
  const w = new WatchSet(k);
  const info = await Deno.stat(dir.path);
  w.add(dir.path, "dir", dir.path);
  w.setState(dir.path, { ...state(0), id: { dev: 0, ino: BigInt(info.ino!) } });
  await Deno.writeTextFile(`${dir.path}/new.conf`, "x");
  await Deno.writeTextFile(`${dir.path}/skipped.tmp`, "x");
  const diff = w.syncDir(dir.path, (p) => !p.endsWith(".tmp"));
  assertEquals(diff?.added.map((a) => a.path), [`${dir.path}/new.conf`]);
  assert(w.get(`${dir.path}/new.conf`), "the new file is watched");
  await Deno.remove(`${dir.path}/new.conf`);
  assertEquals(w.syncDir(dir.path)?.changed, [`${dir.path}/new.conf`]);
});

Deno.test("syncDir(): a new directory is placed by path for the kernel only once its inode is watched", async () => {
  await using dir = await tempDir();
  const k = new FakeKernel();
  const w = new WatchSet(k);
  // As readFileState describes a directory (lstat: the kernel's device numbering).
  const st = (p: string) => {
    const s = lstat(p)!;
    return { ...state(0), id: { dev: s.dev, ino: s.ino } };
  };
  w.add(dir.path, "dir", dir.path, { recursive: true });
  w.setState(dir.path, st(dir.path));
  await Deno.mkdir(`${dir.path}/objects`);
  const sub = st(`${dir.path}/objects`);
  const key = inodeKeyString(sub.id);
  // Listed, not yet described: the kernel must not place "objects/x" on it yet (it
  // would drop the event, its inode being unwatched), but on the tree-watched parent.
  assertEquals(w.syncDir(dir.path)?.added.map((a) => a.path), [`${dir.path}/objects`]);
  assertEquals(k.placed.filter((p) => p.startsWith(key)), []);
  w.setState(`${dir.path}/objects`, sub);
  assertEquals(flagsOf2(k, sub.id), FimWatch.Dir | FimWatch.Tree);
  assert(k.placed.includes(key), "placed once watched");
  assertEquals(k.placed.filter((p) => p === `${key} unwatched`), []);
  assertEquals(w.keys.dirPathsOf(sub.id), [`${dir.path}/objects`]);
  w.remove(`${dir.path}/objects`);
  assertEquals(w.keys.dirPathsOf(sub.id), []);
});

Deno.test("pathsNamed: every watched path with the name, whether first asked before or after adds, removals and renames", () => {
  const noop = () => {};
  const table: KernelWatchTable = {
    watchInode: noop,
    unwatchInode: noop,
    watchEntry: noop,
    unwatchEntry: noop,
    watchDirPath: noop,
    unwatchDirPath: noop,
    watchBasename: noop,
    unwatchBasename: noop,
  };
  for (const askFirst of [false, true]) {
    const w = new WatchSet(table);
    const named = (name: string) =>
      w.entries().map((e) => e.path).filter((p) => p.slice(p.lastIndexOf("/") + 1) === name).sort();
    if (askFirst) assertEquals(w.pathsNamed("passwd"), []);
    w.add("/etc", "dir", "/etc", { recursive: true });
    w.add("/etc/passwd", "file", "/etc");
    w.add("/etc/sub", "dir", "/etc", { recursive: true });
    w.add("/etc/sub/passwd", "file", "/etc");
    w.add("/etc/sub/shadow", "file", "/etc");
    assertEquals(w.pathsNamed("passwd").sort(), named("passwd"));
    w.repath("/etc/sub", "/etc/moved");
    w.remove("/etc/passwd");
    w.add("/etc/moved/passwd2", "file", "/etc");
    for (const name of ["passwd", "shadow", "sub", "moved", "passwd2", "etc"]) {
      assertEquals(w.pathsNamed(name).sort(), named(name), `${name}, asked first: ${askFirst}`);
    }
    assertEquals(w.pathsNamed("moved"), ["/etc/moved"]);
  }
});

Deno.test("atOrBelowInodes: the watches at a file's inode; at or below every path of a directory's; none known: undefined", async () => {
  await using dir = await tempDir();
  const w = new WatchSet(new FakeKernel());
  const st = (p: string) => {
    const s = lstat(p)!;
    return { ...state(0), id: { dev: s.dev, ino: s.ino } };
  };
  const passwd = `${dir.path}/etc/passwd`;
  const sshd = `${dir.path}/etc/ssh/sshd_config`;
  const other = `${dir.path}/other/x`;
  for (const f of [passwd, sshd, other]) {
    await Deno.mkdir(f.slice(0, f.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(f, "x\n");
    w.add(f, "file", f);
    w.setState(f, st(f));
  }
  const paths = (ids: InodeId[]) => w.atOrBelowInodes(ids)?.map((e) => e.path).sort();
  assertEquals(paths([st(passwd).id]), [passwd]);
  // etc holds a watched name (passwd), and ssh/sshd_config is below it; other/x is not.
  const etc = st(`${dir.path}/etc`).id;
  assertEquals(w.keys.dirPathsOf(etc), [`${dir.path}/etc`]);
  assertEquals(paths([etc]), [passwd, sshd]);
  assertEquals(paths([etc, st(other).id]), [passwd, sshd, other].sort());
  // An inode nothing is at: only a rescan of every watch answers.
  assertEquals(paths([st(dir.path).id, id(999_999)]), undefined);
  assertEquals(paths([]), []);
});

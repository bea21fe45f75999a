import { assert, assertEquals } from "../../test/assert.ts";
import { DirKeys, fimHash, nameHash } from "./kernel_keys.ts";
import type { InodeId } from "./inode_key.ts";
import { pathBytes } from "./path_bytes.ts";

/** FNV-1a 64 as its definition reads, in BigInt: the reference fimHash must equal. */
function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

Deno.test("fimHash is FNV-1a 64: the published vectors, and the BigInt definition on random bytes", () => {
  const enc = new TextEncoder();
  assertEquals(fimHash(new Uint8Array()), 0xcbf29ce484222325n);
  assertEquals(fimHash(enc.encode("a")), 0xaf63dc4c8601ec8cn);
  assertEquals(fimHash(enc.encode("foobar")), 0x85944171f73967e8n);
  for (let i = 0; i < 2000; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(i % 300));
    assertEquals(fimHash(bytes), fnv1a64(bytes), `bytes ${bytes.join(",")}`);
  }
});

Deno.test("nameHash hashes a name's bytes: ASCII, UTF-8, and bytes that are not UTF-8", () => {
  const names = ["passwd", "f123", "", "día.conf", "💀.conf", "bad\udc80byte", "x".repeat(255)];
  for (const n of names) assertEquals(nameHash(n), fnv1a64(pathBytes(n)), JSON.stringify(n));
});

Deno.test("every directory above a watched name is watched by its name in its parent, until the last name below it goes", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${root}/a/b`, { recursive: true });
    const entries = new Map<string, number>();
    const basenames = new Set<bigint>();
    const ino = (p: string) => Deno.lstatSync(p).ino!;
    const key = (dir: InodeId, h: bigint) => `${dir.ino}:${h}`;
    const keys = new DirKeys({
      watchEntry: (dir, h) => void entries.set(key(dir, h), (entries.get(key(dir, h)) ?? 0) + 1),
      unwatchEntry: (dir, h) => void entries.delete(key(dir, h)),
      watchDirPath: () => {},
      unwatchDirPath: () => {},
      watchBasename: (h) => void basenames.add(h),
      unwatchBasename: (h) => void basenames.delete(h),
    });
    const watched = (dir: string, name: string) =>
      entries.has(`${BigInt(ino(dir))}:${nameHash(name)}`);
    keys.ref(`${root}/a/b`, "passwd");
    keys.ref(`${root}/a/b`, "shadow");
    assert(watched(`${root}/a/b`, "passwd") && watched(`${root}/a`, "b"));
    assert(watched(root, "a") && watched("/", root.split("/")[1]), "the ancestors' names");
    assert(keys.has(`${root}/a`) && keys.has("/"));
    // Only watched paths' names are basenames (the kernel's filter for unplaced paths).
    assertEquals(basenames, new Set([nameHash("passwd"), nameHash("shadow")]));
    // A name that is both a watched path's and an ancestor's stays until both go.
    keys.ref(`${root}/a`, "b");
    keys.unref(`${root}/a`, "b");
    assert(watched(`${root}/a`, "b"), "the ancestor's link went with the watched name");
    // Renamed: the link moves to the new name.
    keys.repath(`${root}/a`, `${root}/c`);
    assert(keys.has(`${root}/c/b`) && !keys.has(`${root}/a`));
    await Deno.rename(`${root}/a`, `${root}/c`);
    keys.refresh();
    assert(watched(root, "c") && !watched(root, "a"), "the link follows the rename");
    keys.unref(`${root}/c/b`, "passwd");
    keys.unref(`${root}/c/b`, "shadow");
    assertEquals([...entries.keys()], [], "every name goes with the last watched path");
    assert(!keys.has("/"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

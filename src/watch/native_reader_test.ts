import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { rng } from "../../test/rng.ts";
import { readFileState } from "./file_state.ts";
import { type NativeLimits, NativeReader } from "./native_reader.ts";
import { emptyResults, packItems, type ReadItem, unpackResults } from "./read_batch.ts";
import { nativeLibraryPath } from "../native/native_library.ts";
import { decodePathBytes } from "./path_bytes.ts";
import { lstat } from "./native_fs.ts";
import { hashLikeText } from "../../test/hash_texts.ts";
import { mayHoldPasswordHash } from "./hash_sniff.ts";
import { extraAttrs, keyXattrDigests } from "./extra_attrs.ts";
import { ParallelReader } from "./parallel_reader.ts";

/** Without the parts two reads of one unchanged file may not share. */
function comparable(r: unknown): unknown {
  const s = r as { content?: Uint8Array } | undefined;
  return s && "content" in s ? { ...s, content: s.content && [...s.content] } : s;
}

/** The native reader's states of `items`, and the indices it left to readFileState(). */
async function readNatively(items: ReadItem[], limits: NativeLimits = {}) {
  const path = nativeLibraryPath();
  assert(path, "bpfink-native.so is built (deno run -A build.ts native)");
  const reader = NativeReader.open(path, limits);
  assert(reader instanceof NativeReader, JSON.stringify(reader));
  try {
    const packed = packItems(1, items);
    const out = emptyResults(1, items.length);
    const redo = await reader.read(packed, out);
    return { states: unpackResults(out), redo };
  } finally {
    reader.close();
  }
}

Deno.test("native reader: each regular file's state and content as readFileState gives them; the rest left to it", async () => {
  await using dir = await tempDir("bpfink-native-");
  const d = dir.path;
  const items: ReadItem[] = [];
  const onExit: string[] = [];
  await using _ = {
    async [Symbol.asyncDispose]() {
      for (const f of onExit) await Deno.remove(f).catch(() => {});
    },
  };
  // Sizes around the hash's 64-byte blocks and the 256 KiB reads; content wanted or not.
  const sizes = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 4095, 4096, 262143, 262144, 262145];
  const r = rng(20261206);
  for (const [i, size] of [...sizes, 600_000].entries()) {
    const bytes = new Uint8Array(size).map(() => Math.floor(r() * 256));
    await Deno.writeFile(`${d}/f${i}`, bytes);
    items.push({ path: `${d}/f${i}`, keepContentUpTo: i % 2 ? 1 << 20 : 0 });
  }
  // Content wanted up to a size smaller than the file: the hash only.
  items.push({ path: `${d}/f5`, keepContentUpTo: 10 });
  // A name that is not UTF-8, a hard link, a file of another owner and mode.
  const odd = decodePathBytes(new Uint8Array([...new TextEncoder().encode(`${d}/n`), 0xff, 0x41]));
  const c = await new Deno.Command("sh", {
    args: ["-c", `printf 'odd' > "$(printf '${d}/n\\377A')"`],
  }).output();
  assert(c.success && lstat(odd)?.type === "file", "a file named n\\xffA");
  items.push({ path: odd, keepContentUpTo: 100 });
  await Deno.link(`${d}/f3`, `${d}/hard`);
  await Deno.writeTextFile(`${d}/owned`, "x");
  await Deno.chown(`${d}/owned`, 1234, 5678);
  await Deno.chmod(`${d}/owned`, 0o4751);
  items.push({ path: `${d}/hard`, keepContentUpTo: 0 }, { path: `${d}/owned`, keepContentUpTo: 0 });
  // A file system without a device (tmpfs): asked for its type, and read, not a pseudo one.
  const shm = await Deno.makeTempFile({ dir: "/dev/shm", prefix: "bpfink-native-" });
  await Deno.writeTextFile(shm, "on tmpfs\n");
  onExit.push(shm);
  items.push({ path: shm, keepContentUpTo: 100 });
  // Not for the native reader: each is left to readFileState, which says what it is.
  await new Deno.Command("mkfifo", { args: [`${d}/fifo`] }).output();
  await Deno.symlink(`${d}/f1`, `${d}/link`);
  await Deno.symlink(`${d}/nowhere`, `${d}/dangling`);
  await Deno.mkdir(`${d}/sub`);
  // A file with an ACL: readFileState decodes it (extra_attrs.ts).
  await Deno.writeTextFile(`${d}/acl`, "x");
  const set = await new Deno.Command("setfacl", { args: ["-m", "u:nobody:r", `${d}/acl`] })
    .output();
  assert(set.success, new TextDecoder().decode(set.stderr));
  const others = [
    `${d}/acl`,
    `${d}/fifo`,
    `${d}/link`,
    `${d}/dangling`,
    `${d}/sub`,
    "/proc/self/status",
  ];
  const first = items.length;
  for (const path of others) items.push({ path, keepContentUpTo: 100 });
  // Missing: said so natively, as readFileState does (undefined).
  items.push({ path: `${d}/missing`, keepContentUpTo: 0 }, {
    path: `${d}/f1/under-a-file`,
    keepContentUpTo: 0,
  });

  const { states, redo } = await readNatively(items);
  assertEquals(
    redo,
    others.map((_, i) => first + i),
    "only what is not a plain regular file is redone",
  );
  for (const [i, t] of items.entries()) {
    if (redo.includes(i)) continue;
    const want = await readFileState(t.path, t.keepContentUpTo);
    assertEquals(comparable(states[i]), comparable(want), t.path);
  }
  assertEquals(states[items.length - 1], undefined);
  assertEquals((states[1] as { content?: Uint8Array }).content?.length, 1);
  assert(!(states[first - 5] as { content?: Uint8Array }).content, "f5 is larger than 10 bytes");
  const owned = states[first - 2] as { uid: number; gid: number; mode: number };
  assertEquals([owned.uid, owned.gid, owned.mode], [1234, 5678, 0o104751]);
  assertEquals(lstat(`${d}/hard`)?.ino, (states[first - 3] as { id: { ino: bigint } }).id.ino);
  const onTmpfs = states[first - 1] as { id: { dev: number }; content?: Uint8Array };
  assert(onTmpfs.id.dev >>> 20 === 0, "tmpfs has no device (major 0)");
  assertEquals(new TextDecoder().decode(onTmpfs.content), "on tmpfs\n");
});

Deno.test("native reader: a file with other extended attributes or an inode flag is read natively, its attrs as readFileState's", async () => {
  await using dir = await tempDir("bpfink-native-");
  const d = dir.path;
  const files = ["user", "selinux", "same", "append", "none"].map((f) => `${d}/${f}`);
  for (const f of files) await Deno.writeTextFile(f, f);
  await using _ = {
    async [Symbol.asyncDispose]() {
      await new Deno.Command("chattr", { args: ["-a", `${d}/append`] }).output();
    },
  };
  // An SELinux host's label on every file ("same": a text the same as the one before).
  const set = await new Deno.Command("python3", {
    args: [
      "-c",
      `import os, sys
os.setxattr(sys.argv[1], "user.k", b"v")
for f in sys.argv[2:4]: os.setxattr(f, "security.selinux", b"system_u:object_r:etc_t:s0\\0")`,
      ...files,
    ],
  }).output();
  assert(set.success, new TextDecoder().decode(set.stderr));
  const chattr = await new Deno.Command("chattr", { args: ["+a", `${d}/append`] }).output();
  assert(chattr.success, new TextDecoder().decode(chattr.stderr));
  const hostKey = new TextEncoder().encode("a host key of this test's, 32 b.");
  keyXattrDigests(hostKey);
  const items = files.map((path) => ({ path, keepContentUpTo: 100 }));
  const { states, redo } = await readNatively(items);
  assertEquals(redo, [], "each is read natively");
  for (const [i, path] of files.entries()) {
    assertEquals(comparable(states[i]), comparable(await readFileState(path, 100)), path);
  }
  const attrs = states.map((s) => (s as { attrs?: string }).attrs);
  // HMAC-SHA256 with HMAC-SHA256(host key, label) as key, by WebCrypto.
  const hmac = async (key: Uint8Array<ArrayBuffer>, v: Uint8Array<ArrayBuffer>) => {
    const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, v));
  };
  const derived = await hmac(hostKey, new TextEncoder().encode("bpfink xattr digest v1"));
  const digest = async (v: Uint8Array<ArrayBuffer>) =>
    [...await hmac(derived, v)].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
  const label = new TextEncoder().encode("system_u:object_r:etc_t:s0\0");
  assertEquals(attrs, [
    `xattr user.k ${await digest(new TextEncoder().encode("v"))}`,
    `xattr security.selinux ${await digest(label)}`,
    `xattr security.selinux ${await digest(label)}`,
    "flags append",
    "",
  ]);
});

Deno.test("native reader: what goes past its limits is left to readFileState", async () => {
  await using dir = await tempDir("bpfink-native-");
  const items: ReadItem[] = [];
  for (let i = 0; i < 6; i++) {
    await Deno.writeFile(`${dir.path}/f${i}`, new Uint8Array(1000 * (i + 1)).fill(i));
    items.push({ path: `${dir.path}/f${i}`, keepContentUpTo: 1 << 20 });
  }
  // Content for 1000 + 2000 + 3000 bytes fits in 6500; the 4000-byte file's does not, nor the
  // next ones; no file over 5000 bytes is read at all.
  const { states, redo } = await readNatively(items, { arenaBytes: 6500, maxFileBytes: 5000 });
  assertEquals(redo, [3, 4, 5]);
  for (const i of [0, 1, 2]) {
    assertEquals(
      comparable(states[i]),
      comparable(await readFileState(items[i].path, items[i].keepContentUpTo)),
    );
  }
  // Without content wanted, only the size limit holds.
  const hashes = await readNatively(items.map((t) => ({ ...t, keepContentUpTo: 0 })), {
    arenaBytes: 0,
    maxFileBytes: 5000,
  });
  assertEquals(hashes.redo, [5]);
});

Deno.test("native reader: a library that writes another layout is not used, and says so", async () => {
  await using dir = await tempDir("bpfink-native-");
  // The reader's symbols, as a library of the version before the workers marked files (the same
  // numbers a state, no marks' arguments: called with them, it would mark nothing) writes them.
  await Deno.writeTextFile(
    `${dir.path}/other.c`,
    `#include <stdint.h>
uint32_t bpfink_read_layout(void) { return 7 << 16 | 3 << 8 | 64; }
uint32_t bpfink_mark_key_slot(void) { return 272; }
int bpfink_read_files(void) { return 0; }
`,
  );
  const cc = await new Deno.Command("gcc", {
    args: ["-shared", "-fPIC", "-o", `${dir.path}/other.so`, `${dir.path}/other.c`],
  }).output();
  assert(cc.success, new TextDecoder().decode(cc.stderr));
  const r = NativeReader.open(`${dir.path}/other.so`);
  assert(!(r instanceof NativeReader), "a reader of another layout was opened");
  assert(r.error.includes("another version"), r.error);
});

Deno.test("native reader: whether a file may hold a password hash, as hash_sniff.ts tells it", async () => {
  await using dir = await tempDir("bpfink-native-");
  const seed = Math.floor(Math.random() * 2 ** 31);
  const next = rng(seed);
  const items: ReadItem[] = [];
  const contents: Uint8Array[] = [];
  for (let i = 0; i < 1500; i++) {
    const bytes = new TextEncoder().encode(hashLikeText(next, 40));
    contents.push(bytes);
    await Deno.writeFile(`${dir.path}/f${i}`, bytes);
    items.push({ path: `${dir.path}/f${i}`, keepContentUpTo: 1 << 20 });
  }
  const { states, redo } = await readNatively(items);
  assertEquals(redo, []);
  let yes = 0;
  for (const [i, bytes] of contents.entries()) {
    const s = states[i] as { contentMayHoldHash?: boolean };
    assertEquals(
      s.contentMayHoldHash,
      mayHoldPasswordHash(bytes),
      `seed ${seed}: ${JSON.stringify(new TextDecoder().decode(bytes))}`,
    );
    if (s.contentMayHoldHash) yes++;
  }
  assert(yes > 100 && yes < 1400, `seed ${seed}: ${yes} of 1500 said yes`);
});

Deno.test({
  name:
    "native reader: random extended attributes and inode flags read as extra_attrs.ts reads them; ACLs and capabilities left to it",
  ignore: Deno.uid() !== 0,
  async fn() {
    const seed = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
    const r = rng(seed);
    const pick = (n: number) => Math.floor(r() * n);
    const bytes = (n: number) => Array.from({ length: n }, () => pick(256));
    const hex = (b: number[]) => b.map((x) => x.toString(16).padStart(2, "0")).join("");
    // On disk (ext4 here), where user.* and security.* names can be set.
    const d = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "bpfink-xattrs-" });
    await using _ = {
      async [Symbol.asyncDispose]() {
        // An immutable or append-only file cannot be removed: its flags go first.
        await new Deno.Command("chattr", { args: ["-R", "-a", "-i", d] }).output();
        await Deno.remove(d, { recursive: true });
      },
    };
    const probe = await new Deno.Command("python3", {
      args: ["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.probe', b'')", d],
    }).output();
    if (!probe.success) {
      console.log(`skipped: ${d}'s file system keeps no user.* extended attributes`);
      return;
    }
    const files: { path: string; xattrs: [string, string][]; redo: boolean }[] = [];
    const flags: string[][] = [[], [], []];
    for (let i = 0; i < 300; i++) {
      const path = `${d}/f${i}`;
      await Deno.writeFile(path, new Uint8Array(bytes(pick(100))));
      let xattrs: [string, string][] = [];
      if (i > 0 && r() < 0.15) xattrs = files[i - 1].xattrs; // as an SELinux host's neighbours
      else {
        // Some with many long names: a list past the first 1024 bytes asked for.
        const long = r() < 0.15;
        for (let n = long ? 8 + pick(4) : pick(6); n > 0; n--) {
          // Any byte but NUL in a name.
          const name = [...new TextEncoder().encode(r() < 0.5 ? "user." : "security.")];
          for (let k = 1 + (long ? 120 + pick(100) : pick(12)); k > 0; k--) {
            name.push(r() < 0.5 ? 1 + pick(255) : [0x25, 0x20, 0x7f, 0x2f, 0x61][pick(5)]);
          }
          const size = r() < 0.2 ? 0 : r() < 0.25 && !long ? 1025 + pick(2500) : pick(64);
          xattrs.push([hex(name), hex(bytes(size))]);
        }
        if (r() < 0.1) xattrs.push([hex([..."security.selinux"].map((c) => c.charCodeAt(0))), ""]);
      }
      const acl = r() < 0.1, caps = r() < 0.05;
      if (acl) await new Deno.Command("setfacl", { args: ["-m", "u:nobody:r", path] }).output();
      if (caps) await new Deno.Command("setcap", { args: ["cap_net_raw+ep", path] }).output();
      const f = pick(6);
      if (f < 3) flags[f].push(path);
      files.push({ path, xattrs, redo: acl || caps });
    }
    // Each set as one system call; one that does not fit in the inode's space is left out.
    await Deno.writeTextFile(`${d}/spec.json`, JSON.stringify(files));
    const set = await new Deno.Command("python3", {
      args: [
        "-c",
        `import errno, json, os, sys
big = lists = 0
for f in json.load(open(sys.argv[1])):
    for n, v in f["xattrs"]:
        try: os.setxattr(f["path"], bytes.fromhex(n), bytes.fromhex(v))
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.E2BIG): raise
        else: big += len(v) > 2 * 1024
    lists += sum(len(os.fsencode(n)) + 1 for n in os.listxattr(f["path"])) > 1024
print(big, lists)`,
        `${d}/spec.json`,
      ],
    }).output();
    assert(set.success, new TextDecoder().decode(set.stderr));
    // Values and lists past the 1024 bytes the reader first asks for (its second call).
    const [big, lists] = new TextDecoder().decode(set.stdout).trim().split(" ").map(Number);
    assert(big > 5 && lists > 5, `seed ${seed}: ${big} large values, ${lists} long lists`);
    for (const [i, opts] of [["+a"], ["+i"], ["+a", "+i"]].entries()) {
      if (!flags[i].length) continue;
      const c = await new Deno.Command("chattr", { args: [...opts, ...flags[i]] }).output();
      assert(c.success, new TextDecoder().decode(c.stderr));
    }

    const items = files.map(({ path }) => ({ path, keepContentUpTo: 0 }));
    // Under two host keys, through one set of workers: each key reaches them with its window.
    const path = nativeLibraryPath();
    const reader = new ParallelReader(1, { native: path });
    try {
      let before: (string | undefined)[] = [];
      for (const hostKey of ["first host key", "second host key"]) {
        keyXattrDigests(new TextEncoder().encode(`${hostKey} ${seed}`.padEnd(32)));
        const want = files.map(({ path }) => extraAttrs(path, lstat(path)!.attributes));
        assert(want.filter((w) => w?.includes("xattr ")).length > 100, `seed ${seed}: few xattrs`);
        // Keyed: another key, other digests.
        assert(want.every((w, i) => !w?.includes("xattr ") || w !== before[i] || !before.length));
        before = want;
        const { states, redo } = await readNatively(items);
        assertEquals(
          redo,
          files.flatMap((f, i) => f.redo ? [i] : []),
          `seed ${seed}: what is redone`,
        );
        for (const [i, s] of states.entries()) {
          if (redo.includes(i)) continue;
          assertEquals((s as { attrs?: string }).attrs, want[i], `seed ${seed}: ${files[i].path}`);
        }
        // Through the workers, as a first baseline reads: the rest read the other way, the same.
        const all = await reader.read(items);
        for (const [i, s] of all.entries()) {
          assertEquals((s as { attrs?: string }).attrs, want[i], `seed ${seed}: ${files[i].path}`);
        }
      }
    } finally {
      reader.close();
    }
  },
});

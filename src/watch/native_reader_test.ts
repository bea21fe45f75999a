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

/** Without the parts two reads of one unchanged file may not share. */
function comparable(r: unknown): unknown {
  const s = r as { content?: Uint8Array } | undefined;
  return s && "content" in s ? { ...s, content: s.content && [...s.content] } : s;
}

/** The native reader's states of `items`, and the indices it left to readFileState(). */
function readNatively(items: ReadItem[], limits: NativeLimits = {}) {
  const path = nativeLibraryPath();
  assert(path, "bpfink-native.so is built (deno run -A build.ts native)");
  const reader = NativeReader.open(path, limits);
  assert(reader instanceof NativeReader, JSON.stringify(reader));
  try {
    const packed = packItems(1, items);
    const out = emptyResults(1, items.length);
    const redo = reader.read(packed, out);
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
  // Files with an ACL or another extended attribute: readFileState reads those (extra_attrs.ts).
  await Deno.writeTextFile(`${d}/acl`, "x");
  await Deno.writeTextFile(`${d}/xattr`, "x");
  const set = await new Deno.Command("sh", {
    args: [
      "-c",
      `setfacl -m u:nobody:r ${d}/acl && python3 -c ` +
      `"import os; os.setxattr('${d}/xattr', 'user.k', b'v')"`,
    ],
  }).output();
  assert(set.success, new TextDecoder().decode(set.stderr));
  const others = [
    `${d}/acl`,
    `${d}/xattr`,
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

  const { states, redo } = readNatively(items);
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

Deno.test("native reader: what goes past its limits is left to readFileState", async () => {
  await using dir = await tempDir("bpfink-native-");
  const items: ReadItem[] = [];
  for (let i = 0; i < 6; i++) {
    await Deno.writeFile(`${dir.path}/f${i}`, new Uint8Array(1000 * (i + 1)).fill(i));
    items.push({ path: `${dir.path}/f${i}`, keepContentUpTo: 1 << 20 });
  }
  // Content for 1000 + 2000 + 3000 bytes fits in 6500; the 4000-byte file's does not, nor the
  // next ones; no file over 5000 bytes is read at all.
  const { states, redo } = readNatively(items, { arenaBytes: 6500, maxFileBytes: 5000 });
  assertEquals(redo, [3, 4, 5]);
  for (const i of [0, 1, 2]) {
    assertEquals(
      comparable(states[i]),
      comparable(await readFileState(items[i].path, items[i].keepContentUpTo)),
    );
  }
  // Without content wanted, only the size limit holds.
  const hashes = readNatively(items.map((t) => ({ ...t, keepContentUpTo: 0 })), {
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
  const { states, redo } = readNatively(items);
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

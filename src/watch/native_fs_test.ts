import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { readFileState } from "./file_state.ts";
import { listDir, lstat, lstatId, NativeFsError, readlink } from "./native_fs.ts";
import { cPath, CPathBuffer, decodePathBytes, displayPath, pathBytes } from "./path_bytes.ts";

async function sh(script: string, ...args: string[]): Promise<void> {
  const r = await new Deno.Command("sh", { args: ["-c", script, "sh", ...args] }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
}

Deno.test("path bytes: every byte sequence survives decode and encode", () => {
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(1 + (i % 40)).map(() => Math.floor(Math.random() * 256));
    assertEquals([...pathBytes(decodePathBytes(b))], [...b]);
  }
  assertEquals(displayPath(decodePathBytes(new Uint8Array([0x61, 0xff, 0x62]))), "a\\xffb");
});

Deno.test("path bytes: a kept C path buffer gives each path NUL-terminated, whatever came before", () => {
  const buf = new CPathBuffer();
  /** The C string a call would read: up to the first NUL. */
  const cString = (b: Uint8Array) => [...b.subarray(0, b.indexOf(0) + 1)];
  const long = `/${"d".repeat(200)}/${"f".repeat(200)}`;
  const names = [long, "/etc/passwd", decodePathBytes(new Uint8Array([0x2f, 0xff])), "/é", ""];
  for (const s of names) assertEquals(cString(buf.of(s)), [...cPath(s)]);
  // Longer than PATH_MAX: bytes of its own, the whole path (the kernel refuses it).
  const huge = "/x".repeat(3000);
  assertEquals(buf.of(huge).length, 6001);
  assertEquals(cString(buf.of(huge)), [...cPath(huge)]);
  // The buffer is reused: the next path overwrites the last one.
  const a = buf.of("/aaaa");
  buf.of("/b");
  assertEquals(cString(a), [...cPath("/b")]);
});

Deno.test("native fs: a name that is not UTF-8 is listed, stat'ed and hashed by its bytes", async () => {
  await using d = await tempDir();
  await sh('printf "x\\n" > "$1/$(printf "evil\\377")"', d.path);
  const entries = listDir(d.path)!;
  assertEquals(entries.length, 1);
  const name = entries[0].name;
  assertEquals([...pathBytes(name)], [101, 118, 105, 108, 0xff]);
  const s = await readFileState(`${d.path}/${name}`);
  assert(s?.sha256, "no hash");
  assertEquals(s.type, "file");
});

Deno.test("native fs: FIFOs, sockets, devices and /proc files are described, never read", async () => {
  await using d = await tempDir();
  await sh('mkfifo "$1/fifo" && ln -s /proc/self/pagemap "$1/link"', d.path);
  const fifo = await readFileState(`${d.path}/fifo`);
  assertEquals(fifo?.type, "fifo");
  assertEquals(fifo?.sha256, undefined);
  const dev = await readFileState("/dev/zero");
  assertEquals(dev?.type, "chardev");
  const link = await readFileState(`${d.path}/link`);
  assertEquals(link?.type, "symlink");
  assertEquals(link?.linkTarget, "/proc/self/pagemap");
  const proc = await readFileState("/proc/self/pagemap");
  assertEquals(proc?.sha256, undefined);
  assert(proc?.readError?.includes("proc"), proc?.readError);
});

Deno.test("native fs: timestamps keep their nanoseconds", async () => {
  await using d = await tempDir();
  await sh('touch -d "2020-01-01 00:00:00.123456789" "$1/f"', d.path);
  assertEquals(lstat(`${d.path}/f`)?.mtimeNs, 1577836800123456789n);
});

Deno.test("a path gone is undefined, not an error; another failure is a NativeFsError naming the path", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/f`;
  await Deno.writeTextFile(file, "x");
  // ENOENT, and ENOTDIR (a file on the way).
  for (const gone of [`${dir.path}/gone`, `${file}/below`]) {
    assertEquals(lstat(gone), undefined);
    assertEquals(lstatId(gone), undefined);
    assertEquals(readlink(gone), undefined);
    assertEquals(listDir(gone), undefined);
  }
  const tooLong = `${dir.path}/${"n".repeat(300)}`;
  let thrown: unknown;
  try {
    lstat(tooLong);
  } catch (e) {
    thrown = e;
  }
  assert(thrown instanceof NativeFsError, `lstat of a name too long gave ${thrown}`);
  assertEquals([thrown.call, thrown.path, thrown.message], [
    "statx",
    tooLong,
    "statx: file name too long",
  ]);
});

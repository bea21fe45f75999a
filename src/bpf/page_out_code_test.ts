import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { codeMappings, pageOutCode } from "./page_out_code.ts";

Deno.test("codeMappings keeps read-only private file mappings and nothing writable, shared or anonymous", () => {
  const maps = [
    "55d0a0000000-55d0a4000000 r--p 00000000 fe:00 1234 /usr/bin/deno",
    "55d0a4000000-55d0a9000000 r-xp 04000000 fe:00 1234 /usr/bin/deno",
    "55d0a9000000-55d0a9100000 rw-p 09000000 fe:00 1234 /usr/bin/deno",
    "55d0aa000000-55d0ab000000 rw-p 00000000 00:00 0 [heap]",
    "7f0000000000-7f0004000000 rw-s 00000000 00:0f 77 anon_inode:bpf-map",
    "7f0004000000-7f0004100000 r--s 00000000 00:0f 77 anon_inode:bpf-map",
    "7f0005000000-7f0005200000 r--p 00000000 00:01 99 /memfd:bpfink (deleted)",
    "7f0006000000-7f0006010000 r--p 00000000 fe:00 555 /tmp/gone (deleted)",
    "7f0007000000-7f0007010000 r--p 00000000 00:00 0 ",
    "7f0008000000-7f0008010000 r-xp 00000000 fe:00 42 /opt/a dir/lib x.so",
    "7f0009000000-7f0009010000 r--s 00000000 fe:00 43 /var/db/shared.db",
    "not a maps line",
    "",
  ].join("\n");
  assertEquals(codeMappings(maps), [
    { start: 0x55d0a0000000n, end: 0x55d0a4000000n, path: "/usr/bin/deno" },
    { start: 0x55d0a4000000n, end: 0x55d0a9000000n, path: "/usr/bin/deno" },
    { start: 0x7f0008000000n, end: 0x7f0008010000n, path: "/opt/a dir/lib x.so" },
  ]);
});

const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
});

/** Resident bytes of the mapping that starts at `start`, from /proc/self/smaps. */
function residentAt(start: bigint): number {
  let inMap = false;
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const h = /^([0-9a-f]+)-[0-9a-f]+ /.exec(line);
    if (h) inMap = BigInt(`0x${h[1]}`) === start;
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m && inMap) return Number(m[1]) * 1024;
  }
  throw new Error(`no mapping at 0x${start.toString(16)}`);
}

Deno.test("pageOutCode takes a read-only file mapping's pages out of the process, and they read back the same", async () => {
  await using dir = await tempDir();
  // A file on disk that only this process maps, touched page by page as code is.
  const size = 4 * 2 ** 20;
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
  const path = `${dir.path}/code.bin`;
  using f = await Deno.open(path, { write: true, create: true });
  await f.write(bytes);
  f.syncSync(); // clean pages: what a binary's code is
  const fd = libc.symbols.open(new TextEncoder().encode(`${path}\0`), 0);
  assert(fd >= 0, "open failed");
  const PROT_READ = 1, MAP_PRIVATE = 2;
  const addr = libc.symbols.mmap(null, BigInt(size), PROT_READ, MAP_PRIVATE, fd, 0n);
  libc.symbols.close(fd);
  const start = BigInt(Deno.UnsafePointer.value(addr));
  assert(start !== 0xffffffffffffffffn, "mmap failed");
  try {
    const view = new Deno.UnsafePointerView(addr!);
    let sum = 0;
    for (let o = 0; o < size; o += 4096) sum += view.getUint8(o);
    assertEquals(residentAt(start), size, "the touched pages are resident");
    const mine = codeMappings(Deno.readTextFileSync("/proc/self/maps"))
      .filter((m) => m.start === start);
    assertEquals(mine.length, 1, "the mapping is one of the process's code mappings");
    assertEquals(pageOutCode(mine), size);
    const left = residentAt(start);
    assert(left < size / 8, `${left} of ${size} bytes still resident`);
    const back = new Uint8Array(view.getArrayBuffer(size));
    assertEquals(back.every((b, i) => b === bytes[i]), true, "the content read back differs");
    let again = 0;
    for (let o = 0; o < size; o += 4096) again += view.getUint8(o);
    assertEquals(again, sum);
  } finally {
    libc.symbols.munmap(addr, BigInt(size));
  }
});

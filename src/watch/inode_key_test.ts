import { assertEquals } from "../../test/assert.ts";
import {
  decodeInodeKey,
  devString,
  encodeInodeKey,
  inodeKeyString,
  inodeOfKeyString,
  kernelDev,
} from "./inode_key.ts";

/** glibc's makedev, to build st_dev values the way stat() reports them. */
function glibcMakedev(major: bigint, minor: bigint): bigint {
  return ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) |
    ((minor & ~0xffn) << 12n);
}

Deno.test("kernelDev turns glibc's st_dev into the kernel's major << 20 | minor", () => {
  for (const [major, minor] of [[8n, 1n], [254n, 0n], [259n, 300000n], [4095n, 255n], [0n, 44n]]) {
    const dev = kernelDev(glibcMakedev(major, minor));
    assertEquals(dev, Number((major << 20n) | minor));
    assertEquals(devString(dev), `${major}:${minor}`);
  }
});

Deno.test("kernelDev agrees with the kernel's own major:minor for / (mountpoint -d)", async () => {
  const out = await new Deno.Command("mountpoint", { args: ["-d", "/"], stdout: "piped" }).output();
  const want = new TextDecoder().decode(out.stdout).trim();
  const info = await Deno.stat("/");
  assertEquals(devString(kernelDev(info.dev!)), want);
});

Deno.test("map keys: fim_key is ino then dev", () => {
  const k = encodeInodeKey({ dev: (8 << 20) | 1, ino: 0x1122334455n });
  const v = new DataView(k.buffer);
  assertEquals(k.length, 16);
  assertEquals(v.getBigUint64(0, true), 0x1122334455n);
  assertEquals(v.getUint32(8, true), (8 << 20) | 1);
  assertEquals(v.getUint32(12, true), 0);
});

Deno.test("map keys: a fim_key read back decodes to its inode, also inside a larger buffer", () => {
  const id = { dev: 0xfff00001, ino: 0xffff_ffff_ffff_fff0n };
  assertEquals(decodeInodeKey(encodeInodeKey(id)), id);
  const big = new Uint8Array(40);
  encodeInodeKey(id, big.subarray(8, 24) as Uint8Array<ArrayBuffer>);
  assertEquals(decodeInodeKey(big.subarray(8, 24)), id);
});

Deno.test("map keys: an inode key string reads back as its inode, at the ends of both ranges", () => {
  for (const id of [{ dev: 0, ino: 0n }, { dev: 0xfff00001, ino: 0xffff_ffff_ffff_ffffn }]) {
    assertEquals(inodeOfKeyString(inodeKeyString(id)), id);
  }
});

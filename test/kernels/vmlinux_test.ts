/**
 * The vmlinux extractor on synthetic kernels: a static ELF executable (busybox)
 * compressed with each codec, behind setup bytes and with the 4-byte size
 * trailer the kernel build appends, found by the boot header or by its magic.
 */
import { assert, assertEquals } from "../assert.ts";
import { BUSYBOX } from "./initramfs.ts";
import { extractVmlinux } from "./vmlinux.ts";

const COMPRESS: Record<string, string[]> = {
  xz: ["xz", "-c", "--check=crc32"],
  zstd: ["zstd", "-c", "-q"],
  gzip: ["gzip", "-c"],
  lz4: ["lz4", "-l", "-c"],
};

async function compress(codec: string, input: string): Promise<Uint8Array> {
  const [cmd, ...args] = COMPRESS[codec];
  const r = await new Deno.Command(cmd, { args: [...args, input], stdout: "piped" }).output();
  assert(r.success, `${cmd} failed`);
  return r.stdout;
}

/** 4 setup sectors of zeros (plus the boot sector), the payload, then its size. */
function fakeBzImage(payload: Uint8Array, withHeader: boolean): Uint8Array {
  const setup = 5 * 512;
  const out = new Uint8Array(setup + payload.length + 4);
  out.set(payload, setup);
  const v = new DataView(out.buffer);
  v.setUint32(setup + payload.length, payload.length, true);
  if (withHeader) {
    out[0x1f1] = 4;
    v.setUint32(0x202, 0x53726448, true); // "HdrS"
    v.setUint16(0x206, 0x020f, true);
    v.setUint32(0x248, 0, true);
    v.setUint32(0x24c, payload.length, true);
  }
  return out;
}

for (const codec of Object.keys(COMPRESS)) {
  for (const withHeader of [true, false]) {
    Deno.test(`extracts a ${codec} kernel ${withHeader ? "from the boot header" : "by its magic"}`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "bpfink-vmlinux-test-" });
      try {
        const image = fakeBzImage(await compress(codec, BUSYBOX), withHeader);
        await Deno.writeFile(`${dir}/vmlinuz`, image);
        const r = await extractVmlinux(`${dir}/vmlinuz`, `${dir}/vmlinux`);
        assert(r.ok, JSON.stringify(r));
        assertEquals(r.codec, codec);
        assertEquals(r.offset, 5 * 512);
        assertEquals(await Deno.readFile(`${dir}/vmlinux`), await Deno.readFile(BUSYBOX));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

Deno.test("reports a file with no compressed ELF kernel and leaves no output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-vmlinux-test-" });
  try {
    // An xz stream of something that is not an ELF executable.
    await Deno.writeTextFile(`${dir}/text`, "not a kernel\n".repeat(100));
    await Deno.writeFile(`${dir}/vmlinuz`, fakeBzImage(await compress("xz", `${dir}/text`), true));
    const r = await extractVmlinux(`${dir}/vmlinuz`, `${dir}/vmlinux`);
    assert(!r.ok && /no x86-64 ELF kernel/.test(r.reason), JSON.stringify(r));
    assert(!(await Deno.lstat(`${dir}/vmlinux`).then(() => true, () => false)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

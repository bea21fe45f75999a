/**
 * The launcher's SHA-256 (packaging/sha256.h), compiled as the build compiles
 * the launcher, against node:crypto's: the portable code and the SHA
 * extensions' each, on every length around the padding's block edges and on
 * random lengths up to a few MB.
 */
import { createHash } from "node:crypto";
import { assertEquals } from "../test/assert.ts";
import { tempDir } from "../test/helpers.ts";
import { rng } from "../test/rng.ts";
import { compileDriver } from "../test/c_driver.ts";

const DRIVER = `#include <stdio.h>
#include "sha256.h"
static uint8_t buf[8 << 20];
int main(void) {
    size_t n = fread(buf, 1, sizeof buf, stdin);
    char hex[65];
    sha256_hex(buf, n, hex);
    printf("%s %d\\n", hex, sha256_ni);
    return 0;
}
`;

/** Whether this CPU has the SHA extensions, as the kernel lists its flags. */
function cpuHasShaNi(): boolean {
  return /^flags\s*:.*\bsha_ni\b/m.test(Deno.readTextFileSync("/proc/cpuinfo"));
}

Deno.test("the launcher's SHA-256 agrees with node:crypto's, with and without the CPU's SHA extensions", async () => {
  await using dir = await tempDir();
  const sha = await compileDriver(dir.path, DRIVER, new URL(".", import.meta.url).pathname);
  const seed = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? 20261205);
  const r = rng(seed);
  const lengths = [...Array.from({ length: 200 }, (_, i) => i), 1000, 4096, 65535, 65536];
  for (let i = 0; i < 6; i++) lengths.push(Math.floor(r() * (4 << 20)));
  const hash = async (data: Uint8Array, portable: boolean) => {
    const p = new Deno.Command(sha, {
      stdin: "piped",
      stdout: "piped",
      env: { BPFINK_SHA256_PORTABLE: portable ? "1" : "0" },
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(data);
    await w.close();
    const [hex, ni] = new TextDecoder().decode((await p.output()).stdout).trim().split(" ");
    return { hex, ni: ni === "1" };
  };
  for (const n of lengths) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = (r() * 256) | 0;
    const want = createHash("sha256").update(data).digest("hex");
    const fast = await hash(data, false);
    const portable = await hash(data, true);
    assertEquals(portable, { hex: want, ni: false }, `portable, ${n} bytes (seed ${seed})`);
    // Where the CPU has them, the extensions are what is used, and agree.
    assertEquals(fast, { hex: want, ni: cpuHasShaNi() }, `fast, ${n} bytes (seed ${seed})`);
  }
});

/**
 * The native reader's HMAC-SHA256 (native/hmac_sha256.h), compiled as the
 * build compiles it, against node:crypto's: keys shorter than, as long as
 * and longer than SHA-256's 64-byte block (hashed first), messages around
 * the block edges, and RFC 4231's first test case as a known answer.
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { rng } from "../../test/rng.ts";
import { compileDriver } from "../../test/c_driver.ts";

/** Reads lines `KEYHEX DATAHEX` ("-" for empty), writes each HMAC in hex. */
const DRIVER = `#include <stdio.h>
#include "hmac_sha256.h"
static size_t unhex(const char *s, uint8_t *out) {
    size_t n = 0;
    if (s[0] == '-') return 0;
    for (; s[2 * n] && s[2 * n + 1]; n++) sscanf(s + 2 * n, "%2hhx", &out[n]);
    return n;
}
static char key_hex[1024], data_hex[4096];
int main(void) {
    uint8_t key[512], data[2048];
    while (scanf("%1023s %4095s", key_hex, data_hex) == 2) {
        struct hmac_key k;
        hmac_key_init(&k, key, unhex(key_hex, key));
        char hex[65];
        hmac_sha256_hex(&k, data, unhex(data_hex, data), hex);
        printf("%s\\n", hex);
    }
    return 0;
}
`;

const hex = (b: Uint8Array) => b.length ? Buffer.from(b).toString("hex") : "-";

Deno.test("the native reader's HMAC-SHA256 agrees with node:crypto's and RFC 4231", async () => {
  await using dir = await tempDir();
  const native = new URL("../../native/", import.meta.url).pathname;
  const hmac = await compileDriver(dir.path, DRIVER, native);
  const r = rng(Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? 20261206));
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  const cases: [Uint8Array, Uint8Array][] = [];
  for (const keyLen of [0, 1, 31, 32, 33, 63, 64, 65, 131, 500]) {
    for (const dataLen of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
      cases.push([bytes(keyLen), bytes(dataLen)]);
    }
  }
  const p = new Deno.Command(hmac, { stdin: "piped", stdout: "piped" }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(
    cases.map(([k, d]) => `${hex(k)} ${hex(d)}\n`).join("") +
      // RFC 4231, test case 1: key 20 bytes of 0x0b, data "Hi There".
      `${"0b".repeat(20)} ${hex(new TextEncoder().encode("Hi There"))}\n`,
  ));
  await w.close();
  const got = new TextDecoder().decode((await p.output()).stdout).trim().split("\n");
  assertEquals(got.length, cases.length + 1);
  for (const [i, [k, d]] of cases.entries()) {
    assertEquals(
      got[i],
      createHmac("sha256", k).update(d).digest("hex"),
      `key ${k.length}, data ${d.length}`,
    );
  }
  assertEquals(
    got[cases.length],
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
});

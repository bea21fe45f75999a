import { assertEquals } from "../../test/assert.ts";
import { fimHash, nameHash } from "./kernel_keys.ts";
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

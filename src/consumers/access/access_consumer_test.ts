import { assertEquals } from "../../../test/assert.ts";
import { accessConsumer } from "./access_consumer.ts";
import type { AccessRule } from "./access_conf.ts";
import { consumerContext } from "../consumer_context.ts";

Deno.test("access consumer: reads the file's bytes, not its decoded text, as pam_access counts bytes", () => {
  // 100 invalid bytes and 8091 `x`: 8191 bytes, then a rule in the line's last chunk.
  // Decoded, each invalid byte is a 3-byte U+FFFD, and the chunks fall elsewhere.
  const rule = new TextEncoder().encode("+ : evil : ALL\n");
  const bytes = new Uint8Array(8191 + rule.length).fill(0xff, 0, 100).fill(0x78, 100, 8191);
  bytes.set(rule, 8191);
  const ctx = consumerContext(new Uint8Array(32), () => {});
  const text = new TextDecoder().decode(bytes);
  const rules = accessConsumer.snapshot("/etc/security/access.conf", text, ctx, bytes);
  assertEquals((rules as AccessRule[]).map((r) => r.canonical), ["+ : evil : ALL"]);
});

import { createHmac } from "node:crypto";
import { assert, assertEquals } from "../../test/assert.ts";
import { hmacFingerprint, parseShadow } from "./shadow.ts";

const HASH = "$6$rounds=5000$SaltSalt$W9yQ1pD0cqFJx7mL2kVtZ3bN8sR4uA6eH5gT1oI0wX/YzC.dEf";
const fp = hmacFingerprint(new TextEncoder().encode("host key"));

function state(field: string) {
  return parseShadow(`u:${field}:19000::::::\n`, fp).entries[0].password;
}

Deno.test("shadow: password states", () => {
  assertEquals(state(HASH).state, "set");
  assertEquals(state("!" + HASH).state, "locked");
  assertEquals(state("!!" + HASH).state, "locked");
  assertEquals(state("").state, "empty");
  for (const disabled of ["!", "!!", "*", "*LK*", "*NP*", "!*", "!!*LOCKED*", "x"]) {
    assertEquals(state(disabled), { state: "disabled" }, disabled);
  }
});

Deno.test("shadow: locking keeps the fingerprint, a new hash changes it", () => {
  assertEquals(state("!" + HASH).fingerprint, state(HASH).fingerprint);
  assert(state(HASH + "x").fingerprint !== state(HASH).fingerprint);
});

Deno.test("shadow: aging fields; empty is unset; garbage is reported", () => {
  const r = parseShadow("a:*:19000:0:99999:7:30:20000:\nb:*:x1::::::\n", fp);
  assertEquals(r.entries[0], {
    name: "a",
    password: { state: "disabled" },
    lastChange: 19000,
    minDays: 0,
    maxDays: 99999,
    warnDays: 7,
    inactiveDays: 30,
    expireDay: 20000,
    line: 1,
  });
  assertEquals(r.entries[1].lastChange, undefined);
  assertEquals(r.errors, [{ line: 2, message: "last change is not a number" }]);
});

Deno.test("shadow: the hash, and every 8-character piece of it, is never kept", () => {
  const lines = [
    `a:${HASH}:19000:0:99999:7:::`,
    `b:!${HASH}:19000::::::`,
    `c:${HASH}:19000:0:99999:7::`, // 8 fields: malformed
    `d:${HASH}:not-a-number::::::`,
    `${HASH}`,
  ];
  const text = JSON.stringify(parseShadow(lines.join("\n"), fp));
  for (let i = 0; i + 8 <= HASH.length; i++) {
    assert(!text.includes(HASH.slice(i, i + 8)), `leaks ${HASH.slice(i, i + 8)}`);
  }
});

Deno.test("hmacFingerprint: keyed, deterministic, short hex, HMAC-SHA256", () => {
  const k1 = hmacFingerprint(new Uint8Array([1, 2, 3]));
  const k2 = hmacFingerprint(new Uint8Array([1, 2, 4]));
  assertEquals(k1(HASH), k1(HASH));
  assert(/^[0-9a-f]{32}$/.test(k1(HASH)));
  assert(k1(HASH) !== k2(HASH), "depends on the key");
  assert(k1(HASH) !== k1(HASH + "."), "depends on the secret");
  const full = createHmac("sha256", new Uint8Array([1, 2, 3])).update(HASH).digest("hex");
  assertEquals(k1(HASH), full.slice(0, 32));
});

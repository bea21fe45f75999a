import { createHmac } from "node:crypto";
import { assert, assertEquals } from "../../../test/assert.ts";
import { hmacFingerprint, parseShadow } from "./shadow.ts";

const HASH = "$6$rounds=5000$SaltSalt$W9yQ1pD0cqFJx7mL2kVtZ3bN8sR4uA6eH5gT1oI0wX/YzC.dEf";
const fp = hmacFingerprint(new TextEncoder().encode("host key"));

function state(field: string) {
  return parseShadow(`u:${field}:19000::::::\n`, fp).entries[0].password!;
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

Deno.test("shadow: aging fields; empty is unset; a line glibc rejects is reported", () => {
  const r = parseShadow("a:*:19000:0:99999:7:30:20000:\nb:*:::::::\nc:*:x1::::::\n", fp);
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
  assertEquals(r.entries.length, 2);
  assertEquals(r.errors.map((e) => e.line), [3]);
});

Deno.test("shadow: glibc's forms: old 5 fields, signs, blanks, 32-bit wrap, reserved flag", () => {
  const r = parseShadow(
    [
      "old:*:1:2:3", // the old form
      "oldc:*:1:2:3:  ", // old form, trailing blanks
      "plus:*:+5: 6:-0::::", // strtoul: sign and blanks
      "wrap:*:4294967294:4294967295:2147483648::::",
      "flag:*:::::::4294967295",
      "neg:*:-1::::::", // rejected: negative
      "short:*:1:2:3:4", // rejected: ends inside the aging fields
      "eight:*:1:2:3:4:5:", // rejected: expire missing at the end of the line
      "ten:*:1:2:3:4:5:6:7:", // rejected: text after the flag
      "blank:*: 1 ::::::", // rejected: a blank after the number
    ].join("\n"),
    fp,
  );
  assertEquals(
    r.entries.map((e) => [e.name, e.lastChange, e.minDays, e.maxDays]),
    [
      ["old", 1, 2, 3],
      ["oldc", 1, 2, 3],
      ["plus", 5, 6, 0],
      ["wrap", -2, undefined, -2147483648],
      ["flag", undefined, undefined, undefined],
    ],
  );
  assertEquals(r.errors.map((e) => e.line), [6, 7, 8, 9, 10]);
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

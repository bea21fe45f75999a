import { assert, assertEquals } from "../../test/assert.ts";
import { rng } from "../../test/rng.ts";
import { hashLikeText } from "../../test/hash_texts.ts";
import { REDACTED, redactPasswordHashes } from "./password_hashes.ts";
import { mayHoldPasswordHash } from "../watch/hash_sniff.ts";

const R = REDACTED;

Deno.test("password hashes: every format libxcrypt, Apache and LDAP write is redacted, its lock prefix kept", () => {
  const cases: [string, string][] = [
    [
      "bob:$y$j9T$SALTBOBB$HASHBOBONE22222222222222222222:20000:0:99999:7:::",
      `bob:${R}:20000:0:99999:7:::`,
    ],
    [
      "alice:!$6$rounds=5000$saltsalt$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5:1:0:99999:7:::",
      `alice:!${R}:1:0:99999:7:::`,
    ],
    ["carol:$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", `carol:${R}`],
    ["dave:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/:19000::::::", `dave:${R}:19000::::::`],
    ["web:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", `web:${R}`],
    ["x:$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", `x:${R}`],
    ["ldap:{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", `ldap:${R}`],
    ["ldap2:{crypt}$6$saltsalt$abcdefghijklmnop", `ldap2:{crypt}${R}`],
    ["old:abJnggxhB/yWI:19000:0:99999:7:::", `old:${R}:19000:0:99999:7:::`],
    ["locked:*LK*abJnggxhB/yWI:1", `locked:*LK*abJnggxhB/yWI:1`], // not 13 + 11k after the '*'s
    ["locked2:!!abJnggxhB/yWI", `locked2:!!${R}`],
    ["big:abJnggxhB/yWIabcdefghijk:1", `big:${R}:1`],
    ["bsdi:_J9..rasmBYk8r9AiWNc:1", `bsdi:${R}:1`],
    ["crlf:abJnggxhB/yWI\r", `crlf:${R}\r`],
    [
      "user:1000:2:$6$aaaaaaaa$bbbbbbbbbbbbbbbbbbbb,$6$cccccccc$dddddddddddddddddddd",
      `user:1000:2:${R}`,
    ],
  ];
  for (const [text, want] of cases) {
    assertEquals(redactPasswordHashes(text), want, text);
    if (want === text) continue;
    assert(mayHoldPasswordHash(new TextEncoder().encode(text)), `the quick test misses ${text}`);
  }
});

Deno.test("password hashes: text that holds none is left as it is", () => {
  const text = [
    'echo "$1$2" $HOME ${PATH}',
    "for i in $(seq 1 10); do echo $i; done",
    '$locale=~s/^([^_@.]+)/$1$territory/; $lines[$i] = "$1$2$value$3";',
    "my($d,$m,$y) = ($2,$3,$4); $1,332,539,889",
    "alice:x:1000:1000:Alice:/home/alice:/bin/bash",
    "root:*:19000:0:99999:7:::",
    "alice:100000:65536",
    "key: value",
    "url = http://example.com:8080/path",
    "Defaults secure_path=/usr/sbin:/usr/bin",
    "",
  ].join("\n");
  assertEquals(redactPasswordHashes(text), text);
});

Deno.test("password hashes: the quick test on bytes says yes wherever the redaction finds a hash", () => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const next = rng(seed);
  let found = 0;
  for (let i = 0; i < 20_000; i++) {
    const text = hashLikeText(next);
    if (redactPasswordHashes(text) === text) continue;
    found++;
    assert(
      mayHoldPasswordHash(new TextEncoder().encode(text)),
      `seed ${seed}: the quick test misses ${JSON.stringify(text)}`,
    );
  }
  assert(found > 100, `seed ${seed}: only ${found} texts with a hash were drawn`);
});

Deno.test("password hashes: a long file with one ':' and no hash is scanned in linear time", () => {
  const text = "a:b\n" + "x\n".repeat(2_000_000);
  const t0 = performance.now();
  assertEquals(redactPasswordHashes(text), text);
  assert(!mayHoldPasswordHash(new TextEncoder().encode(text)));
  assert(performance.now() - t0 < 5_000, "quadratic scan");
});

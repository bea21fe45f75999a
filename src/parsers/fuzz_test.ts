/**
 * Fuzzing the parsers (attacker-controlled input): random bytes and mutations
 * of realistic files, for a bounded time each. No throw, no hang, and nothing
 * that sat in a password field ever in what bpfink stores (the parse) or
 * emits (the diff). Secrets are planted in the password fields after
 * mutation, so the check holds whatever shape the mutation left. The seed is
 * printed on failure; set BPFINK_FUZZ_SEED to replay, BPFINK_FUZZ_MS to run longer.
 */
import { assert } from "../../test/assert.ts";
import { parseAccessConf } from "./access_conf.ts";
import { parseGroup } from "./group.ts";
import { parseGshadow } from "./gshadow.ts";
import { parsePasswd } from "./passwd.ts";
import { parseShadow } from "./shadow.ts";
import { parseSudoers } from "./sudoers.ts";
import { diffGroup, diffGshadow } from "../semantics/groups.ts";
import { diffAccess, diffSudoers } from "../semantics/rules.ts";
import { diffPasswd, diffShadow } from "../semantics/users.ts";

const MS = Number(Deno.env.get("BPFINK_FUZZ_MS") ?? 1500);
/** A single parse that takes longer than this counts as a hang. */
const SLOW_MS = 500;

/** xorshift32: small, seedable, good enough to drive mutations. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const fp = (s: string) => `F${s.length}`;

const SEEDS: Record<string, string> = {
  passwd:
    "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n+::::::\n",
  shadow: "root:$6$s$h:19000:0:99999:7:::\nalice:!$6$s$h:19000::::::\nbob:*:1::::::\n",
  group: "root:x:0:\nsudo:x:27:alice,bob\n",
  gshadow: "sudo:$6$s$h:alice:bob\nadm:!::\n",
  sudoers:
    "Defaults env_reset\nUser_Alias A = a, b : B = c\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n" +
    "bob ALL=(ALL) NOPASSWD: ALL \\\n  , /bin/ls\n#include /etc/sudoers\n#1000 ALL=(ALL) ALL\n",
  access: "+ : root : LOCAL\n- : ALL EXCEPT root : ALL\n",
};

const PIECES = [
  ":",
  "\n",
  ",",
  "\\",
  "#",
  "@include ",
  "@includedir ",
  "=",
  "(",
  ")",
  "!",
  "$6$",
  " ",
  "\r\n",
  "\0",
  "é",
  "ALL",
];

function mutate(seed: string, r: () => number): string {
  let s = seed;
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const len = Math.floor(r() * 64);
    switch (Math.floor(r() * 7)) {
      case 0: // delete a span
        s = s.slice(0, at) + s.slice(at + Math.floor(r() * 16));
        break;
      case 1: // insert a meaningful piece
        s = s.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)] + s.slice(at);
        break;
      case 2: // duplicate a span
        s = s.slice(0, at) + s.slice(at, at + len).repeat(1 + Math.floor(r() * 4)) + s.slice(at);
        break;
      case 3: // flip a character
        s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(at + 1);
        break;
      case 4: // a huge line
        s = s.slice(0, at) + "x".repeat(Math.floor(r() * 100_000)) + s.slice(at);
        break;
      case 5: // many separators
        s = s.slice(0, at) + ":".repeat(Math.floor(r() * 5000)) + s.slice(at);
        break;
      default: // many continuations
        s = s.slice(0, at) + "a \\\n".repeat(Math.floor(r() * 2000)) + s.slice(at);
    }
  }
  return s;
}

function randomBytes(r: () => number): string {
  const n = Math.floor(r() * 4096);
  return String.fromCharCode(...Array.from({ length: n }, () => Math.floor(r() * 256)));
}

/** Puts a fresh secret in the password field of every line with `fields` fields. */
function plantSecrets(
  text: string,
  fields: number,
  r: () => number,
): { text: string; secrets: string[] } {
  const secrets: string[] = [];
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const lines = text.split("\n").map((l) => {
    const f = l.split(":");
    if (f.length !== fields) return l;
    const secret = Array.from({ length: 24 }, () => alphabet[Math.floor(r() * alphabet.length)])
      .join("");
    secrets.push(secret);
    f[1] = (r() < 0.3 ? "!" : "") + "$6$" + secret;
    return f.join(":");
  });
  return { text: lines.join("\n"), secrets };
}

/** Each target returns what bpfink would store (the parse) and what it would emit (the diff). */
const TARGETS: Record<string, { run: (text: string) => unknown; passwordFields?: number }> = {
  passwd: {
    run: (t) => [parsePasswd(t, fp), diffPasswd([], parsePasswd(t, fp).entries, "f")],
    passwordFields: 7,
  },
  shadow: {
    run: (t) => [parseShadow(t, fp), diffShadow([], parseShadow(t, fp).entries, "f")],
    passwordFields: 9,
  },
  group: { run: (t) => [parseGroup(t), diffGroup([], parseGroup(t).entries, "f")] },
  gshadow: {
    run: (t) => [parseGshadow(t, fp), diffGshadow([], parseGshadow(t, fp).entries, "f")],
    passwordFields: 4,
  },
  sudoers: {
    // Includes resolve to the same fuzzed text: cycles and depth must stay bounded.
    run: (t) => {
      const r = parseSudoers(t, "/etc/sudoers", {
        reader: { readFile: () => t, readDir: () => ["a", "b", "c~"] },
      });
      return [r, diffSudoers([], r.entries)];
    },
  },
  access: { run: (t) => [parseAccessConf(t), diffAccess([], parseAccessConf(t).entries, "f")] },
};

for (const [name, target] of Object.entries(TARGETS)) {
  Deno.test(`fuzz ${name}: random and mutated input never throws, hangs or leaks a password field`, () => {
    const seed = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() & 0x7fffffff));
    const r = rng(seed);
    const end = performance.now() + MS;
    let runs = 0;
    while (performance.now() < end) {
      let input = r() < 0.2 ? randomBytes(r) : mutate(SEEDS[name], r);
      let secrets: string[] = [];
      if (target.passwordFields) {
        ({ text: input, secrets } = plantSecrets(input, target.passwordFields, r));
      }
      const t0 = performance.now();
      let out: unknown;
      try {
        out = target.run(input);
      } catch (e) {
        throw new Error(`${name} threw on run ${runs} (BPFINK_FUZZ_SEED=${seed}): ${e}`);
      }
      const took = performance.now() - t0;
      assert(
        took < SLOW_MS,
        `${name} took ${took.toFixed(0)} ms on run ${runs} (BPFINK_FUZZ_SEED=${seed})`,
      );
      const text = JSON.stringify(out);
      for (const s of secrets) {
        for (let i = 0; i + 12 <= s.length; i += 6) {
          assert(
            !text.includes(s.slice(i, i + 12)),
            `${name} leaked a password field (BPFINK_FUZZ_SEED=${seed})`,
          );
        }
      }
      runs++;
    }
    assert(runs > 10, `only ${runs} runs`);
  });
}

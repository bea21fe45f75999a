/**
 * Random text drawn from the characters the password-hash rules look at
 * (src/watch/hash_sniff.ts, src/consumers/password_hashes.ts), so that
 * hashes and near-misses are both common.
 *
 * @module
 */
import type { Rng } from "./rng.ts";

const PARTS = [
  "$",
  "{",
  "}",
  ":",
  "!",
  "*",
  "_",
  "\r",
  "\n",
  ".",
  "/",
  "//",
  "-",
  "=",
  ",",
  " ",
  "\t",
  "6",
  "y",
  "2b",
  "apr1",
  "SSHA",
  "crypt",
  "a",
  "Z",
  "0",
  "abJnggxhB/yWI",
  "j9T",
  "abcdefghijk",
  "ABCDEFGH",
  "$6$",
  "$y$",
  "{SSHA}",
  "\u00e9",
  "\0",
]; // deno-fmt-ignore

/** Up to `max` parts of hash-like text. */
export function hashLikeText(next: Rng, max = 60): string {
  let s = "";
  const n = Math.floor(next() * max);
  for (let i = 0; i < n; i++) s += PARTS[Math.floor(next() * PARTS.length)];
  return s;
}

/**
 * A small seedable random source for fuzzers and differential tests, so a
 * failure replays from its printed seed.
 *
 * @module
 */

/** A source of numbers in [0, 1). */
export type Rng = () => number;

/** xorshift32 seeded with `seed` (0 counts as 1): good enough to drive mutations. */
export function rng(seed: number): Rng {
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

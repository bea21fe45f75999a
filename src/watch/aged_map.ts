/**
 * A map whose insertion order is its entries' age, trimmed from the oldest
 * in sweeps rather than at every insert.
 *
 * A JS Map leaves a hole where an entry was deleted until it next rehashes,
 * and a walk from the oldest entry passes every hole before the first live
 * one. Trimming at every insert walked thousands of holes each time under a
 * churn of names: the largest self time of the event loop in
 * bench/user_flood.ts, while root's report waited behind it. A sweep runs at
 * most once per SWEEP_MS, unless the map is over its bound, and then trims
 * it to seven eighths of that bound, so the next forced sweep is an eighth of
 * the bound of inserts away.
 *
 * @module
 */

/** The longest an entry past its time is kept before a sweep drops it. */
export const SWEEP_MS = 50;

/** A Map in age order (insertion order; setNewest() moves an entry to the end). */
export class AgedMap<K, V> extends Map<K, V> {
  #sweptAt = -Infinity;

  /** `max`: the most entries it holds after an insert's sweep. */
  constructor(readonly max: number) {
    super();
  }

  /** Sets `key` to `value` as the newest entry (moved to the end if it was there). */
  setNewest(key: K, value: V): this {
    this.delete(key);
    return this.set(key, value);
  }

  /**
   * Drops the oldest entries that are no longer `kept`, at `now`
   * (performance.now()): at most once per SWEEP_MS, or at once when the map
   * holds more than `max`, then down to seven eighths of `max` as well. A
   * reader that needs an exact age checks it itself.
   */
  dropOldest(kept: (v: V) => boolean, now: number): void {
    const over = this.size > this.max;
    if (!over && now - this.#sweptAt < SWEEP_MS) return;
    this.#sweptAt = now;
    const bound = over ? this.max - (this.max >> 3) : this.max;
    for (const [k, v] of this) {
      if (this.size <= bound && kept(v)) break;
      this.delete(k);
    }
  }
}

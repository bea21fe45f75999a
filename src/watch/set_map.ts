/**
 * A map from keys to sets of values that keeps a key's lone value as it is,
 * and makes a Set only for a key with two or more. Nearly every watched
 * inode has one path and every fanotify handle one inode: at 100,000 watched
 * files a Set per key was 35 MB of the heap (a Set and its table are about
 * 175 bytes even for one value).
 *
 * @module
 */

/** Keys to sets of values (insertion order kept); a key with no value is gone. */
export class SetMap<K, V> {
  readonly #m = new Map<K, V | Set<V>>();

  /** Adds `v` to `k`'s values. */
  add(k: K, v: V): void {
    const have = this.#m.get(k);
    if (have === undefined) this.#m.set(k, v);
    else if (have instanceof Set) have.add(v);
    else if (have !== v) this.#m.set(k, new Set([have, v]));
  }

  /** Removes `v` from `k`'s values (and `k`, once it has none); whether it was there. */
  delete(k: K, v: V): boolean {
    const have = this.#m.get(k);
    if (have === undefined) return false;
    if (!(have instanceof Set)) {
      if (have !== v) return false;
      this.#m.delete(k);
      return true;
    }
    if (!have.delete(v)) return false;
    if (have.size === 1) this.#m.set(k, have.values().next().value as V);
    return true;
  }

  /** `k`'s values, a copy (empty when it has none). */
  get(k: K): V[] {
    const have = this.#m.get(k);
    if (have === undefined) return [];
    return have instanceof Set ? [...have] : [have];
  }

  /** Whether `k` has a value. */
  has(k: K): boolean {
    return this.#m.has(k);
  }

  /** Removes everything. */
  clear(): void {
    this.#m.clear();
  }
}

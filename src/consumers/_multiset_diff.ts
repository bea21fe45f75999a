/**
 * Added and removed items of two lists compared as multisets by a key:
 * moving an item is not a change, adding a second copy is.
 *
 * @module
 */

/** Items of `after` beyond their count in `before` (added) and the reverse (removed), in list order. */
export function multisetDiff<T>(
  before: T[],
  after: T[],
  key: (t: T) => string,
): { added: T[]; removed: T[] } {
  const keysBefore = before.map(key);
  const keysAfter = after.map(key);
  const extra = (xs: T[], xKeys: string[], yKeys: string[]) => {
    const count = new Map<string, number>();
    for (const k of yKeys) count.set(k, (count.get(k) ?? 0) + 1);
    const out: T[] = [];
    for (let i = 0; i < xs.length; i++) {
      const c = count.get(xKeys[i]) ?? 0;
      if (c > 0) count.set(xKeys[i], c - 1);
      else out.push(xs[i]);
    }
    return out;
  };
  return {
    added: extra(after, keysAfter, keysBefore),
    removed: extra(before, keysBefore, keysAfter),
  };
}

/**
 * Whether the items kept on both sides appear in a different relative
 * order (for first-match or last-match rule files, order is meaning).
 * `diff` is the {@link multisetDiff} of the same lists, when already known.
 */
export function orderChanged<T>(
  before: T[],
  after: T[],
  key: (t: T) => string,
  diff: { added: T[]; removed: T[] } = multisetDiff(before, after, key),
): boolean {
  const drop = (xs: T[], gone: T[]) => {
    const g = new Set(gone);
    return xs.filter((x) => !g.has(x)).map(key);
  };
  const a = drop(before, diff.removed);
  const b = drop(after, diff.added);
  return a.some((k, i) => k !== b[i]);
}

/**
 * Pairs items of `added` with items of `removed` that share a key (the
 * first unpaired of each, in list order): an item changed in place. Each
 * key function is tried in turn on what is still unpaired, so a closer key
 * pairs first. Linear in the items per key.
 */
export function pairUp<T>(
  added: readonly T[],
  removed: readonly T[],
  ...keys: ((t: T) => string)[]
): Map<T, T> {
  const pairs = new Map<T, T>();
  const taken = new Set<T>();
  for (const key of keys) {
    const waiting = new Map<string, T[]>();
    for (const r of removed) {
      if (taken.has(r)) continue;
      const k = key(r);
      const list = waiting.get(k);
      if (list) list.push(r);
      else waiting.set(k, [r]);
    }
    // Lists are consumed from the front by index, never shift()ed (quadratic on long lists).
    const next = new Map<string, number>();
    for (const a of added) {
      if (pairs.has(a)) continue;
      const k = key(a);
      const i = next.get(k) ?? 0;
      const old = waiting.get(k)?.[i];
      if (old === undefined) continue;
      next.set(k, i + 1);
      taken.add(old);
      pairs.set(a, old);
    }
  }
  return pairs;
}

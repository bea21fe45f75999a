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

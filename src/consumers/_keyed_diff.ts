/**
 * The diff of two lists of settings where each name stands once (a file's
 * later line of a name replaced the earlier when it was read): environment
 * variables, sudo.conf's directives.
 *
 * @module
 */

/** What changed: each setting of `after` that is new or has another value, and what is gone. */
export interface KeyedDiff<T> {
  /** In `after`'s order; `was` is the setting it replaced, absent for a new name. */
  set: { now: T; was?: T }[];
  /** In `before`'s order. */
  removed: T[];
}

/** The settings set and removed from `before` to `after`, by `key`, compared by `value`. */
export function keyedDiff<T>(
  before: readonly T[],
  after: readonly T[],
  key: (t: T) => string,
  value: (t: T) => string,
): KeyedDiff<T> {
  const was = new Map(before.map((t) => [key(t), t]));
  const now = new Set(after.map(key));
  const set: { now: T; was?: T }[] = [];
  for (const t of after) {
    const old = was.get(key(t));
    if (old === undefined) set.push({ now: t });
    else if (value(old) !== value(t)) set.push({ now: t, was: old });
  }
  return { set, removed: before.filter((t) => !now.has(key(t))) };
}

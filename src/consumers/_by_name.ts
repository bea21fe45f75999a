/**
 * Entries of a database keyed by their name, the way the C library reads
 * them: the first entry of a name is the one `getpwnam`/`getgrnam` return.
 * Later entries with the same name are kept under their own key, so that a
 * duplicate `root` line appended to passwd is reported, not silently
 * merged into the real one.
 *
 * @module
 */

/** An entry with its key and, for duplicates, which occurrence it is. */
export interface Keyed<T> {
  entry: T;
  /** 0 for the first entry of a name, 1 for the second, ... */
  duplicate: number;
}

/** `xs` keyed by name; the n-th duplicate (n ≥ 1) is keyed `name` + NUL + n. */
export function byName<T extends { name: string }>(xs: T[]): Map<string, Keyed<T>> {
  const seen = new Map<string, number>();
  const out = new Map<string, Keyed<T>>();
  for (const x of xs) {
    const n = seen.get(x.name) ?? 0;
    seen.set(x.name, n + 1);
    out.set(n === 0 ? x.name : `${x.name}\0${n}`, { entry: x, duplicate: n });
  }
  return out;
}

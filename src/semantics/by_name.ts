/**
 * Entries of a database keyed by their name.
 *
 * @module
 */

/** `xs` keyed by `name`; of duplicate names the last one wins. */
export function byName<T extends { name: string }>(xs: T[]): Map<string, T> {
  return new Map(xs.map((x) => [x.name, x]));
}

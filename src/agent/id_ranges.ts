/**
 * A set of outbox ids kept as sorted, disjoint ranges: the events whose
 * delivery waits in the outbox, not in memory (delivery.ts). Ids are handed
 * out in commit order, so what an outage leaves behind is a few long runs,
 * and a million waiting events cost a few numbers, not a million.
 *
 * @module
 */

/** Sorted, disjoint, inclusive ranges of whole numbers. */
export class IdRanges {
  /** [first, last] pairs, ascending, never touching (adjacent runs are merged). */
  readonly #runs: [number, number][] = [];
  #size = 0;

  /** How many ids the set holds. */
  get size(): number {
    return this.#size;
  }

  /** The smallest id, if any. */
  first(): number | undefined {
    return this.#runs[0]?.[0];
  }

  /** Whether `id` is in the set. */
  has(id: number): boolean {
    const i = this.#runAtOrBefore(id);
    return i >= 0 && id <= this.#runs[i][1];
  }

  /** Adds `id` (a whole number); adding one already there changes nothing. */
  add(id: number): void {
    const runs = this.#runs;
    const i = this.#runAtOrBefore(id);
    if (i >= 0 && id <= runs[i][1]) return;
    this.#size++;
    const joinsBefore = i >= 0 && runs[i][1] === id - 1;
    const joinsAfter = i + 1 < runs.length && runs[i + 1][0] === id + 1;
    if (joinsBefore && joinsAfter) {
      runs[i][1] = runs[i + 1][1];
      runs.splice(i + 1, 1);
    } else if (joinsBefore) runs[i][1] = id;
    else if (joinsAfter) runs[i + 1][0] = id;
    else runs.splice(i + 1, 0, [id, id]);
  }

  /** Removes `id`, if there. */
  delete(id: number): void {
    const runs = this.#runs;
    const i = this.#runAtOrBefore(id);
    if (i < 0 || id > runs[i][1]) return;
    this.#size--;
    const [a, b] = runs[i];
    if (a === b) runs.splice(i, 1);
    else if (id === a) runs[i][0] = id + 1;
    else if (id === b) runs[i][1] = id - 1;
    else runs.splice(i, 1, [a, id - 1], [id + 1, b]);
  }

  /** Removes every id up to and including `id`. */
  deleteThrough(id: number): void {
    const runs = this.#runs;
    while (runs.length && runs[0][1] <= id) {
      this.#size -= runs[0][1] - runs[0][0] + 1;
      runs.shift();
    }
    if (runs.length && runs[0][0] <= id) {
      this.#size -= id - runs[0][0] + 1;
      runs[0][0] = id + 1;
    }
  }

  /** Removes every id. */
  clear(): void {
    this.#runs.length = 0;
    this.#size = 0;
  }

  /** The index of the last run starting at or before `id`, or -1. */
  #runAtOrBefore(id: number): number {
    let lo = 0, hi = this.#runs.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#runs[mid][0] <= id) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}

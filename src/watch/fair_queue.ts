/**
 * Paths waiting for a re-read, taken in turn by owner: one path of each owner
 * with paths waiting, round and round, each owner's in the order they came.
 * A user who makes thousands of paths due at once (a flood, a rescan of their
 * 8,000 files) then delays another owner's path by at most one read per owner
 * waiting, not by all of theirs.
 *
 * @module
 */

/** One owner's waiting paths, from `head` on. */
interface OwnerQueue {
  paths: string[];
  head: number;
}

/** A queue of paths, fair between owners (uids). */
export class FairQueue {
  readonly #byOwner = new Map<number, OwnerQueue>();
  /** Owners with paths waiting, in turn order, from #turnHead on. */
  #turns: number[] = [];
  #turnHead = 0;
  #size = 0;

  /** Paths waiting (including those the caller will skip). */
  get size(): number {
    return this.#size;
  }

  /** Queues `path` of `owner` behind that owner's other paths. */
  push(owner: number, path: string): void {
    let q = this.#byOwner.get(owner);
    if (!q) {
      q = { paths: [], head: 0 };
      this.#byOwner.set(owner, q);
      this.#turns.push(owner);
    }
    q.paths.push(path);
    this.#size++;
  }

  /** The next path: the oldest of the owner whose turn it is; undefined when none waits. */
  shift(): string | undefined {
    while (this.#turnHead < this.#turns.length) {
      const owner = this.#turns[this.#turnHead++];
      const q = this.#byOwner.get(owner)!;
      const path = q.paths[q.head++];
      this.#size--;
      if (q.head === q.paths.length) this.#byOwner.delete(owner);
      else {
        if (q.head > 4096 && q.head * 2 > q.paths.length) {
          q.paths = q.paths.slice(q.head);
          q.head = 0;
        }
        this.#turns.push(owner);
      }
      this.#compactTurns();
      return path;
    }
    return undefined;
  }

  #compactTurns(): void {
    if (this.#turnHead === this.#turns.length) {
      this.#turns = [];
      this.#turnHead = 0;
    } else if (this.#turnHead > 4096 && this.#turnHead * 2 > this.#turns.length) {
      this.#turns = this.#turns.slice(this.#turnHead);
      this.#turnHead = 0;
    }
  }

  /** Forgets every path. */
  clear(): void {
    this.#byOwner.clear();
    this.#turns = [];
    this.#turnHead = 0;
    this.#size = 0;
  }
}

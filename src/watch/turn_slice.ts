/**
 * A slice of one turn of the event loop for work that runs without giving
 * the loop back: the first ask in a turn opens a slice, and asks answer yes
 * until it is `ms` old. A timer of 0 ms, which can only fire on a later turn,
 * ends it, and the next ask opens another. Work that runs one piece after
 * another in microtasks (each piece's end starts the next) never lets a timer
 * or an I/O callback in between; asking before each piece bounds how long it
 * holds the loop to about `ms` and one piece.
 *
 * @module
 */

/** How much of a turn of the event loop a run of pieces of work may take. */
export class TurnSlice {
  readonly #ms: number;
  /** When the open slice began (performance.now()), while one is open. */
  #openedAt?: number;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /** A slice of `ms` milliseconds a turn (0: none, every ask says no). */
  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Whether a piece of work may run in this turn now: it opens a slice at its first ask. */
  room(): boolean {
    if (this.#closed || this.#ms <= 0) return false;
    const now = performance.now();
    if (this.#openedAt === undefined) {
      this.#openedAt = now;
      this.#timer = setTimeout(() => {
        this.#openedAt = undefined;
        this.#timer = undefined;
      }, 0);
      return true;
    }
    return now - this.#openedAt < this.#ms;
  }

  /** Says no from now on, and clears its timer. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#openedAt = undefined;
  }
}

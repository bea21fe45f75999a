/**
 * Counts what a handler is handed in each turn of the event loop: a timer
 * of 0 ms, run once a turn while it is due, numbers the turns.
 *
 * @module
 */

/** Items handed over, by turn of the event loop. */
export class LoopTurns {
  #turn = 0;
  #counting = false;
  readonly #perTurn = new Map<number, number>();

  /** Starts numbering the turns (and forgets what was noted before). */
  start(): void {
    this.#perTurn.clear();
    if (this.#counting) return;
    this.#counting = true;
    const tick = () => {
      this.#turn++;
      if (this.#counting) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
  }

  /** Stops numbering them. */
  stop(): void {
    this.#counting = false;
  }

  /** Notes `n` items handed over in the current turn. */
  note(n = 1): void {
    this.#perTurn.set(this.#turn, (this.#perTurn.get(this.#turn) ?? 0) + n);
  }

  /** The most items one turn was handed. */
  get most(): number {
    return Math.max(0, ...this.#perTurn.values());
  }

  /** Turns that were handed any. */
  get turns(): number {
    return this.#perTurn.size;
  }
}

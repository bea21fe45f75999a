/**
 * Events held for a grace period after they were read, so that the BPF
 * object's event of the same change, which carries more, can come first:
 * each is fed once a whole grace has passed since it was last read (a
 * repeat renews it), on one timer for all. Who waits for the queue to empty
 * (`settled()`) is woken when it does.
 *
 * A turn of the timer feeds at most MAX_FEED_PER_TURN events and gives the
 * event loop back before the next: a flood of held events never keeps the
 * other timers (a root file's re-read among them) waiting behind it.
 *
 * @module
 */

/** A held event: when it was last read. */
export interface Held {
  readAt: number;
}

/**
 * The most events one turn of the timer feeds. A fanotify event's feed drains up to 64 of
 * the ring buffer's records looking for its twin (FileMonitor.covers), so a turn of 256 could
 * hand over 16,384 records: under a user's churn (bench/user_flood.ts, without the pump) root's
 * first append was reported 1.77-3.45 s after it, and 0.30-0.43 s with turns of 32 (four runs
 * each, alternated), while more of the user's own events were dropped (0.35-0.43 million
 * against 0.19-0.39 million).
 */
export const MAX_FEED_PER_TURN = 32;

/** Events held by key until their grace has passed. */
export class GraceQueue<P extends Held> {
  readonly #held = new Map<string, P>();
  #timer?: ReturnType<typeof setTimeout>;
  #waiters: (() => void)[] = [];
  #stopped = false;

  /** `feed` gets each event, out of the queue already, once its grace has passed. */
  constructor(readonly graceMs: number, readonly feed: (key: string, p: P) => void) {}

  /** The event held under `key`, if any (to renew or add to it). */
  get(key: string): P | undefined {
    return this.#held.get(key);
  }

  /** Holds `p` under `key`. */
  hold(key: string, p: P): void {
    if (this.#stopped) return;
    this.#held.set(key, p);
    this.#timer ??= setTimeout(() => this.#expire(), this.graceMs);
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = performance.now();
    let fed = 0;
    for (const [key, p] of this.#held) {
      if (now - p.readAt < this.graceMs) continue;
      if (fed >= MAX_FEED_PER_TURN) {
        // The event loop's other work first: the rest in the next turn, at once.
        this.#timer = setTimeout(() => this.#expire(), 0);
        return;
      }
      this.#held.delete(key);
      this.feed(key, p);
      fed++;
    }
    if (this.#held.size) this.#timer = setTimeout(() => this.#expire(), this.graceMs);
    else this.#wake();
  }

  /** Whether an event read so far still waits out its grace. */
  get waiting(): boolean {
    return this.#held.size > 0 && !this.#stopped;
  }

  /** Resolves once no event read so far waits out its grace. */
  settled(): Promise<void> {
    if (!this.waiting) return Promise.resolve();
    return new Promise((r) => this.#waiters.push(r));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }

  /** Drops every held event and wakes who waits; holds nothing more. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#held.clear();
    this.#wake();
  }
}

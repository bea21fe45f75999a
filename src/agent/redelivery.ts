/**
 * Events an output gave up on (its retries ran out, its buffer was full)
 * are tried again while the agent runs, with backoff, on the outputs that
 * dropped them only, with the same `event.id` and `bpfink.redelivered`.
 * Their outbox rows stay until then, so a restart meanwhile redelivers them
 * too; nothing waits for a restart to be delivered (past what may be held in
 * memory, events wait in the outbox and are read back from it: delivery.ts).
 *
 * The backoff is the output's, not the event's: an output that dropped
 * something is held (the events it has not delivered wait in commit order,
 * new ones behind them) and, when its backoff ends, gets them all again in
 * that order. So an output delivers in the outbox's order after an outage.
 *
 * @module
 */

/** Backoff and bounds of the queue. */
export interface RedeliveryOptions {
  /** First delay (ms), doubled per attempt. Default 5000. */
  firstDelayMs?: number;
  /** Longest delay (ms). Default 60 000: after an outage live events wait behind at most this. */
  maxDelayMs?: number;
  /** Events held in memory at most; beyond, they wait in the outbox (delivery.ts). Default 100,000. */
  capacity?: number;
  /** Bytes of JSON held in memory at most; beyond, events wait in the outbox. Default 16 MiB. */
  maxHeldBytes?: number;
}

/** Per key (an output): one backoff timer, doubling while it keeps dropping. */
export class RedeliveryTimers<K> {
  readonly #state = new Map<K, { attempt: number; timer?: ReturnType<typeof setTimeout> }>();
  readonly #fire: (key: K) => void;
  readonly #first: number;
  readonly #max: number;
  readonly capacity: number;
  #closed = false;
  /** Redeliveries started so far (one per output and backoff). */
  retried = 0;

  constructor(fire: (key: K) => void, opts: RedeliveryOptions = {}) {
    this.#fire = fire;
    this.#first = opts.firstDelayMs ?? 5000;
    this.#max = opts.maxDelayMs ?? 60_000;
    this.capacity = opts.capacity ?? 100_000;
  }

  /** Arms `key`'s timer unless it is armed already; each arming doubles the next delay. */
  schedule(key: K): void {
    if (this.#closed) return;
    let s = this.#state.get(key);
    if (!s) this.#state.set(key, s = { attempt: 0 });
    if (s.timer !== undefined) return;
    const delay = Math.min(this.#max, this.#first * 2 ** Math.min(s.attempt, 20));
    s.attempt++;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      this.retried++;
      this.#fire(key);
    }, delay);
  }

  /** `key` delivered again: its next backoff starts from the first delay. */
  reset(key: K): void {
    const s = this.#state.get(key);
    if (s && s.timer === undefined) s.attempt = 0;
  }

  /** Stops every timer; what is left stays in the outbox for the next start. */
  close(): void {
    this.#closed = true;
    for (const s of this.#state.values()) if (s.timer !== undefined) clearTimeout(s.timer);
  }
}

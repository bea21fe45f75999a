/**
 * Events an output gave up on (its retries ran out, its buffer was full)
 * are tried again while the agent runs, with backoff, on the outputs that
 * dropped them only, with the same `event.id` and `bpfink.redelivered`.
 * Their outbox rows stay until then, so a restart meanwhile redelivers them
 * too; nothing waits for a restart to be delivered.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { Output } from "../outputs/output.ts";

/** One event waiting to be tried again. */
export interface Redelivery {
  event: ChangeEvent;
  outboxId: number;
  /** The outputs that did not deliver it. */
  outputs: Output[];
  /** How many times it was tried again already. */
  attempt: number;
}

/** Backoff and bounds of the queue. */
export interface RedeliveryOptions {
  /** First delay (ms), doubled per attempt. Default 5000. */
  firstDelayMs?: number;
  /** Longest delay (ms). Default 300 000. */
  maxDelayMs?: number;
  /** Events held at most; beyond, the oldest waits for the next start (its row stays). */
  capacity?: number;
}

/** Holds dropped events and hands them back to `send` when their backoff ends. */
export class RedeliveryQueue {
  readonly #due = new Map<string, { r: Redelivery; at: number }>();
  readonly #send: (r: Redelivery) => void;
  readonly #first: number;
  readonly #max: number;
  readonly #capacity: number;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;
  /** Events handed back to the outputs so far. */
  retried = 0;
  /** Events left for the next start because the queue was full. */
  deferred = 0;

  constructor(send: (r: Redelivery) => void, opts: RedeliveryOptions = {}) {
    this.#send = send;
    this.#first = opts.firstDelayMs ?? 5000;
    this.#max = opts.maxDelayMs ?? 300_000;
    this.#capacity = opts.capacity ?? 100_000;
  }

  /** Events waiting now. */
  get size(): number {
    return this.#due.size;
  }

  /** Queues `r` for another try after its backoff. */
  add(r: Redelivery): void {
    if (this.#closed) return;
    if (this.#due.size >= this.#capacity && !this.#due.has(r.event.event.id)) {
      this.deferred++;
      return;
    }
    const delay = Math.min(this.#max, this.#first * 2 ** Math.min(r.attempt, 20));
    this.#due.set(r.event.event.id, { r, at: Date.now() + delay });
    this.#arm();
  }

  #arm(): void {
    if (this.#closed || this.#timer !== undefined || this.#due.size === 0) return;
    const next = Math.min(...[...this.#due.values()].map((d) => d.at));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = Date.now();
      for (const [id, d] of [...this.#due]) {
        if (d.at > now) continue;
        this.#due.delete(id);
        this.retried++;
        this.#send({ ...d.r, attempt: d.r.attempt + 1 });
      }
      this.#arm();
    }, Math.max(0, next - Date.now()));
  }

  /** Stops the timer; what is left stays in the outbox for the next start. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}

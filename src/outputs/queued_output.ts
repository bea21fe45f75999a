/**
 * The shape every network or file output shares: `write()` only enqueues
 * into a bounded buffer and returns; a background loop delivers in batches.
 * A slow or dead sink never blocks detection, and nothing is lost silently:
 * what does not fit, or fails for good, is counted as dropped.
 *
 * @module
 */
import type { ChangeEvent } from "../events/change_event.ts";
import type { Output } from "./output.ts";

/** Per-output delivery counters. */
export interface OutputCounters {
  sent: number;
  dropped: number;
  errors: number;
  queued: number;
}

/** An output with a bounded queue and a background sender. */
export abstract class QueuedOutput implements Output {
  abstract readonly name: string;
  readonly counters: OutputCounters = { sent: 0, dropped: 0, errors: 0, queued: 0 };
  #queue: ChangeEvent[] = [];
  #wake?: () => void;
  #loop?: Promise<void>;
  #closing = false;
  #inflight = 0;

  constructor(readonly capacity: number, readonly batchSize = 1) {}

  /** Delivers one batch; resolves when the sink took it, throws when it did not. */
  protected abstract send(batch: ChangeEvent[]): Promise<void>;

  /** How long to wait before retrying after the `attempt`-th failure (ms); undefined gives up. */
  protected retryDelay(attempt: number): number | undefined {
    return attempt < 5 ? Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2) : undefined;
  }

  /** Waits this long for more events before sending a partial batch (ms). */
  protected lingerMs = 0;

  write(event: ChangeEvent): void {
    if (this.#closing || this.#queue.length >= this.capacity) {
      this.counters.dropped++;
      return;
    }
    this.#queue.push(event);
    this.counters.queued = this.#queue.length;
    this.#loop ??= this.#run();
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (!this.#closing || this.#queue.length) {
      if (this.#queue.length === 0) {
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
        continue;
      }
      if (this.lingerMs && this.#queue.length < this.batchSize && !this.#closing) {
        await new Promise((r) => setTimeout(r, this.lingerMs));
      }
      const batch = this.#queue.splice(0, this.batchSize);
      this.counters.queued = this.#queue.length;
      this.#inflight = batch.length;
      for (let attempt = 0;; attempt++) {
        try {
          await this.send(batch);
          this.counters.sent += batch.length;
          break;
        } catch {
          this.counters.errors++;
          const delay = this.#closing ? undefined : this.retryDelay(attempt);
          if (delay === undefined) {
            this.counters.dropped += batch.length;
            break;
          }
          await new Promise((r) => setTimeout(r, delay));
        }
      }
      this.#inflight = 0;
    }
  }

  /** Whether the output is shutting down (senders stop retrying). */
  protected get closing(): boolean {
    return this.#closing;
  }

  /** Resolves when everything queued so far was delivered or dropped (or after `timeoutMs`). */
  async flush(timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ((this.#queue.length || this.#inflight) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stops taking events, delivers what is queued (within `timeoutMs`), then releases the sink. */
  async close(timeoutMs = 5000): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    if (this.#loop) {
      await Promise.race([this.#loop, new Promise((r) => setTimeout(r, timeoutMs))]);
    }
    this.counters.dropped += this.#queue.length;
    this.#queue = [];
    this.counters.queued = 0;
    await this.release();
  }

  /** Frees connections or files. */
  protected release(): Promise<void> {
    return Promise.resolve();
  }
}

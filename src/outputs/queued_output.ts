/**
 * The shape every network or file output shares: `write()` only enqueues
 * into a bounded buffer and returns; a background loop delivers in batches,
 * retrying with exponential backoff and jitter. A slow or dead sink never
 * blocks detection, and nothing is lost silently: every event written is, in
 * the end, either `sent` (the sink took it) or `dropped` (the buffer was
 * full, the sink refused it for good, retries ran out, or `close()` hit its
 * deadline). At any moment `written = sent + dropped + queued`.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { log } from "../log.ts";
import { eventBytes } from "../pipeline/event_size.ts";
import type { FaultListener, Output, OutputCounters, SettledListener } from "./output.ts";
import { errorMessage } from "../error_message.ts";

/** What a sink did with a batch when it took only part of it (Elastic bulk item errors). */
export interface BatchResult {
  /** Events to send again later (e.g. an item answered 429). */
  retry?: ChangeEvent[];
  /** Events refused for good (e.g. an item answered 400): counted as dropped. */
  rejected?: ChangeEvent[];
}

/** Thrown by a sink when retrying cannot help (HTTP 400, 401...): the batch is dropped now. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

/**
 * Thrown by a sink that refused a batch for its size (HTTP 413): a batch of
 * several is sent again in halves, at once, so that only an event too large
 * by itself is dropped and the others are delivered in order.
 */
export class TooLargeError extends PermanentError {
  override name = "TooLargeError";
}

/** Thrown by a sink that was told how long to wait (HTTP `Retry-After`). */
export class RetryAfterError extends Error {
  override name = "RetryAfterError";
  constructor(message: string, readonly delayMs: number) {
    super(message);
  }
}

/** How a queued output buffers, batches and retries. */
export interface QueueOptions {
  /** Events held while the sink is slow or down; more are counted as dropped. */
  capacity: number;
  /**
   * Bytes of JSON held so at most (event_size.ts eventBytes); more are counted
   * as dropped. Default MAX_QUEUED_BYTES: 10,000 events of 64 KiB, which
   * anyone who can write a watched text file can make, would be 640 MiB.
   */
  maxBytes?: number;
  /** Events per `send()` call. Default 1. */
  batchSize?: number;
  /** Wait up to this long for a full batch before sending a partial one (ms). Default 0. */
  lingerMs?: number;
  /** Retries per batch after the first attempt; then the batch (and the queue behind it) is dropped. Default 5. */
  maxRetries?: number;
  /** First retry delay (ms); doubles per attempt, with jitter (50-100%). Default 100. */
  backoffBaseMs?: number;
  /** Longest retry delay (ms). Default 30 000. */
  backoffMaxMs?: number;
  /** `close()` deadline when none is given (ms). Default 5000. */
  closeTimeoutMs?: number;
}

/** What a queue holds at most by default (bytes of JSON). */
export const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/** Drop reports are logged at most this often (ms). */
const DROP_REPORT_MS = 10_000;

/** An output with a bounded queue and a background sender. */
export abstract class QueuedOutput implements Output {
  abstract readonly name: string;
  readonly capacity: number;
  readonly maxBytes: number;
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly closeTimeoutMs: number;
  /** Delivery counters; `sent + dropped + queued` is every event written so far. */
  readonly counters: OutputCounters;
  /** The last delivery error, for status displays. */
  lastError?: string;

  protected lingerMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  #sent = 0;
  #dropped = 0;
  /** The queue starts with half of a batch refused for its size: sent with no linger. */
  #resend = false;
  #errors = 0;
  #queue: ChangeEvent[] = [];
  #inflight: ChangeEvent[] = [];
  /** Each queued or in-flight event's bytes, until it is settled or dropped. */
  readonly #sizes = new Map<ChangeEvent, number>();
  #bytes = 0;
  #loop?: Promise<void>;
  #wake?: () => void;
  #wakeSleep?: () => void;
  #drainWaiters: (() => void)[] = [];
  #closing = false;
  #abandoned = false;
  #closed?: Promise<void>;
  #abort = new AbortController();
  #failing = false;
  #settled?: SettledListener;
  #fault?: FaultListener;
  #unreportedDrops = 0;
  #lastDropReport = 0;

  constructor(opts: QueueOptions) {
    if (!(opts.capacity >= 1)) {
      throw new RangeError(`buffer must be at least 1, not ${opts.capacity}`);
    }
    this.capacity = opts.capacity;
    this.maxBytes = opts.maxBytes ?? MAX_QUEUED_BYTES;
    this.batchSize = Math.max(1, opts.batchSize ?? 1);
    this.lingerMs = opts.lingerMs ?? 0;
    this.maxRetries = opts.maxRetries ?? 5;
    this.#backoffBaseMs = opts.backoffBaseMs ?? 100;
    this.#backoffMaxMs = opts.backoffMaxMs ?? 30_000;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
    // deno-lint-ignore no-this-alias
    const self = this;
    this.counters = {
      get sent() {
        return self.#sent;
      },
      get dropped() {
        return self.#dropped;
      },
      get errors() {
        return self.#errors;
      },
      get queued() {
        return self.#queue.length + self.#inflight.length;
      },
    };
  }

  /**
   * Delivers one batch. Resolves when the sink took it (or, with a
   * `BatchResult`, the part it did not retry or reject); throws when it did
   * not. `signal` aborts when `close()` gives up waiting.
   */
  protected abstract send(batch: ChangeEvent[], signal: AbortSignal): Promise<BatchResult | void>;

  /** Frees connections or files; called once by `close()`. */
  protected release(): Promise<void> {
    return Promise.resolve();
  }

  /** Whether the output is shutting down. */
  protected get closing(): boolean {
    return this.#closing;
  }

  /** Enqueues `event` and returns at once; counts it as dropped when the buffer is full. */
  write(event: ChangeEvent): void {
    const size = eventBytes(event);
    if (
      this.#closing || this.#queue.length + this.#inflight.length >= this.capacity ||
      (this.#bytes > 0 && this.#bytes + size > this.maxBytes)
    ) {
      this.#drop([event], this.#closing ? "output closed" : "buffer full");
      return;
    }
    if (!this.#sizes.has(event)) {
      this.#sizes.set(event, size);
      this.#bytes += size;
    }
    this.#queue.push(event);
    this.#loop ??= this.#run();
    this.#wake?.();
  }

  /** Resolves once everything written so far is settled, or after `timeoutMs`. */
  flush(timeoutMs = 5000): Promise<void> {
    if (this.#settledAll()) return Promise.resolve();
    return new Promise((resolve) => {
      const deadline: { timer?: ReturnType<typeof setTimeout>; finished?: boolean } = {};
      const done = () => {
        deadline.finished = true;
        clearTimeout(deadline.timer);
        this.#drainWaiters = this.#drainWaiters.filter((w) => w !== done);
        resolve();
      };
      // Listen first: with node:timers' setTimeout, pending deliveries can settle while the
      // deadline is armed, and a drain notified before the push would be missed.
      this.#drainWaiters.push(done);
      deadline.timer = setTimeout(done, timeoutMs);
      if (deadline.finished) clearTimeout(deadline.timer);
    });
  }

  /**
   * Stops taking events and delivers what is queued, retrying until
   * `timeoutMs`; then aborts what is in flight, counts what is left as
   * dropped and releases the sink. Idempotent.
   */
  close(timeoutMs = this.closeTimeoutMs): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    if (this.#loop) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finished = await Promise.race([
        this.#loop.then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!finished) {
        this.#abandoned = true;
        this.#abort.abort(new Error(`${this.name}: close deadline (${timeoutMs} ms) passed`));
        this.#wakeSleep?.();
        const left = [...this.#inflight, ...this.#queue];
        this.#inflight = [];
        this.#queue = [];
        this.#drop(left, `close deadline (${timeoutMs} ms) passed`);
      }
    }
    await this.release();
    if (this.#loop) {
      // The sender notices the abandonment at its next step; give a stuck send a moment.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#loop, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
    this.#reportDrops(true);
  }

  async #run(): Promise<void> {
    while (!this.#abandoned) {
      if (this.#queue.length === 0) {
        if (this.#closing) return;
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
        continue;
      }
      if (
        this.lingerMs > 0 && this.#queue.length < this.batchSize && !this.#closing &&
        !this.#resend
      ) {
        await this.#sleep(this.lingerMs, true);
        if (this.#abandoned) return;
      }
      this.#inflight = this.#queue.splice(0, this.batchSize);
      this.#resend = false;
      await this.#deliver();
      this.#inflight = [];
      this.#notifyDrained();
    }
  }

  /** Sends `#inflight` until it is settled or the output is abandoned. */
  async #deliver(): Promise<void> {
    for (let attempt = 0; this.#inflight.length > 0; attempt++) {
      let failure: unknown;
      const batch = this.#inflight;
      try {
        const r = await this.send(batch, this.#abort.signal);
        if (this.#abandoned) return;
        const retry = r?.retry ?? [];
        const rejected = r?.rejected ?? [];
        const notTaken = new Set([...retry, ...rejected]);
        const taken = notTaken.size ? batch.filter((e) => !notTaken.has(e)) : batch;
        this.#inflight = retry;
        this.#settle(taken);
        if (rejected.length) {
          this.#errors++;
          this.#drop(rejected, "refused by the receiver", true);
        }
        if (!retry.length) {
          this.#recovered();
          return;
        }
        failure = new Error(`the receiver asked to retry ${retry.length} of ${batch.length}`);
      } catch (e) {
        if (this.#abandoned) return;
        if (e instanceof TooLargeError && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          this.#queue.unshift(...batch.slice(half));
          this.#inflight = batch.slice(0, half);
          this.#resend = true;
          attempt--;
          continue;
        }
        failure = e;
      }
      this.#errors++;
      this.#failed(failure);
      const delay = failure instanceof PermanentError
        ? undefined
        : this.#retryDelay(attempt, failure);
      if (delay === undefined) {
        const reason = failure instanceof PermanentError
          ? `refused: ${this.lastError}`
          : `gave up after ${attempt + 1} attempts: ${this.lastError}`;
        // Given up on for now: the events queued behind it are given up too, so whoever
        // tries them again (the agent's redelivery) keeps their order.
        const refused = failure instanceof PermanentError;
        const left = refused ? this.#inflight : [...this.#inflight, ...this.#queue.splice(0)];
        this.#inflight = [];
        this.#drop(left, reason, refused);
        return;
      }
      await this.#sleep(delay, false);
      if (this.#abandoned) return;
    }
  }

  /** The delay before retry number `attempt + 1` (ms), or undefined to give up. */
  #retryDelay(attempt: number, failure: unknown): number | undefined {
    if (attempt >= this.maxRetries) return undefined;
    if (failure instanceof RetryAfterError) return Math.min(failure.delayMs, this.#backoffMaxMs);
    const ceiling = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** attempt);
    return ceiling * (0.5 + Math.random() / 2);
  }

  /** Sleeps `ms`; a write (when `wakeOnWrite`) or the close deadline cuts it short. */
  #sleep(ms: number, wakeOnWrite: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeSleep = undefined;
        if (wakeOnWrite) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeSleep = done;
      // A linger ends early once the batch is full or the output is closing.
      if (wakeOnWrite) {
        this.#wake = () => {
          if (this.#queue.length >= this.batchSize || this.#closing) done();
        };
      }
    });
  }

  #settle(events: ChangeEvent[]): void {
    if (!events.length) return;
    this.#sent += events.length;
    this.#callSettled(events, true);
  }

  #drop(events: ChangeEvent[], reason: string, refused = false): void {
    if (!events.length) return;
    this.#dropped += events.length;
    this.#unreportedDrops += events.length;
    this.#dropReason = reason;
    this.#reportDrops(false);
    this.#callSettled(events, false, refused);
    this.#notifyDrained();
  }

  #dropReason = "";

  #reportDrops(force: boolean): void {
    const now = Date.now();
    if (!this.#unreportedDrops || (!force && now - this.#lastDropReport < DROP_REPORT_MS)) return;
    log("output").warn(
      `${this.name}: dropped ${this.#unreportedDrops} events (${this.#dropReason}); ` +
        `${this.#dropped} in total`,
    );
    this.#unreportedDrops = 0;
    this.#lastDropReport = now;
  }

  /**
   * `listener` hears when events are settled: `true` once the sink took
   * them, `false` when they were dropped. Lets the agent acknowledge its
   * outbox only after delivery. Exceptions thrown there are ignored.
   */
  onSettled(listener: SettledListener): void {
    this.#settled = listener;
  }

  #callSettled(events: ChangeEvent[], delivered: boolean, refused = false): void {
    for (const e of events) {
      const size = this.#sizes.get(e);
      if (size === undefined) continue;
      this.#bytes -= size;
      this.#sizes.delete(e);
    }
    try {
      this.#settled?.(events, delivered, refused);
    } catch {
      // A hook must not stop delivery.
    }
  }

  /**
   * `listener` hears every failed attempt (the error) and the first success
   * after them (`undefined`); the agent puts them on its fault board. Without
   * one, the output logs when it starts failing and when it recovers.
   */
  onFault(listener: FaultListener): void {
    this.#fault = listener;
  }

  #failed(e: unknown): void {
    this.lastError = errorMessage(e);
    if (this.#fault) this.#callFault(this.lastError);
    else if (!this.#failing) log("output").warn(`${this.name}: ${this.lastError}; retrying`);
    this.#failing = true;
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    if (this.#fault) this.#callFault(undefined);
    else log("output").info(`${this.name}: delivering again`);
  }

  #callFault(error: string | undefined): void {
    try {
      this.#fault?.(error);
    } catch {
      // A hook must not stop delivery.
    }
  }

  #settledAll(): boolean {
    return this.#queue.length === 0 && this.#inflight.length === 0;
  }

  #notifyDrained(): void {
    if (!this.#settledAll()) return;
    for (const w of [...this.#drainWaiters]) w();
  }
}

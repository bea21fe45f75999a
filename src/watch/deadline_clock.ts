/**
 * Callbacks at deadlines a few milliseconds away, on time. Deno's timers fire
 * about a millisecond late (`setTimeout(2)` after 3.1 ms here, `setTimeout(0)`
 * after 2.1 ms), which is half of a 2 ms settle again. Here a nanosleep(2),
 * run as a nonblocking FFI call on a thread of Deno's blocking pool, sleeps
 * until the earliest deadline; when it returns, every callback that is due
 * runs, and the next sleep starts for the earliest one left. So one sleep
 * serves any number of deadlines; a deadline earlier than every sleep under
 * way starts one more. Waits over PRECISE_MAX_MS, where a millisecond does not
 * matter, are plain timers.
 *
 * @module
 */
import { lazyLibc } from "../libc.ts";

const { libc } = lazyLibc(
  {
    nanosleep: { parameters: ["buffer", "pointer"], result: "i32", nonblocking: true },
    __errno_location: { parameters: [], result: "pointer" },
  } as const,
);

/** Waits up to this long sleep on a thread; longer ones are setTimeout. */
export const PRECISE_MAX_MS = 20;
/** A sleep that ends this soon after a deadline serves it. */
const SLACK_MS = 0.05;

interface Due {
  /** performance.now() time. */
  at: number;
  fn: () => void;
}

/** Deadlines, each with a callback, kept until they are due, cancelled or closed. */
export class DeadlineClock {
  #nextId = 1;
  readonly #due = new Map<number, Due>();
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
  /** Sleeps under way, with when each ends. */
  readonly #sleeps = new Map<Promise<void>, number>();
  #closed = false;

  /**
   * Calls `fn` in `ms` milliseconds, not sooner (give or take SLACK_MS: deadlines that close
   * together are served by one wake); the id cancels it.
   */
  after(ms: number, fn: () => void): number {
    const id = this.#nextId++;
    if (this.#closed) return id;
    if (ms > PRECISE_MAX_MS) {
      this.#timers.set(
        id,
        setTimeout(() => {
          this.#timers.delete(id);
          fn();
        }, ms),
      );
      return id;
    }
    const at = performance.now() + Math.max(0, ms);
    this.#due.set(id, { at, fn });
    this.#cover(at);
    return id;
  }

  /** Forgets deadline `id` (nothing if it ran already). */
  cancel(id: number): void {
    if (this.#due.delete(id)) return;
    const timer = this.#timers.get(id);
    if (timer === undefined) return;
    this.#timers.delete(id);
    clearTimeout(timer);
  }

  /** Deadlines not yet run. */
  get pending(): number {
    return this.#due.size + this.#timers.size;
  }

  /** Sleeps under way. */
  get sleeping(): number {
    return this.#sleeps.size;
  }

  /** Cancels every deadline and resolves once the sleeps under way have ended (at most PRECISE_MAX_MS). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#due.clear();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(this.#sleeps.keys());
  }

  /** Makes sure a sleep ends at `at` or before: one under way, or a new one. */
  #cover(at: number): void {
    for (const end of this.#sleeps.values()) if (end <= at + SLACK_MS) return;
    this.#sleep(at);
  }

  #sleep(until: number): void {
    const ms = Math.max(0, until - performance.now());
    const s = Math.floor(ms / 1000);
    const timespec = new BigInt64Array([
      BigInt(s),
      BigInt(Math.min(999_999_999, Math.floor((ms - s * 1000) * 1e6))),
    ]);
    const slept: Promise<void> = libc().nanosleep(timespec, null).then(() => {
      // The buffer stays referenced until the call has returned.
      timespec[0] = 0n;
      this.#sleeps.delete(slept);
      this.#woke();
    });
    this.#sleeps.set(slept, until);
  }

  /** Runs what is due, in deadline order, and sleeps again until the earliest left. */
  #woke(): void {
    if (this.#closed) return;
    const now = performance.now() + SLACK_MS;
    const ready: [number, Due][] = [];
    let next = Infinity;
    for (const entry of this.#due) {
      const at = entry[1].at;
      if (at <= now) ready.push(entry);
      else if (at < next) next = at;
    }
    ready.sort((a, b) => a[1].at - b[1].at);
    for (const [id, d] of ready) {
      if (!this.#due.delete(id)) continue; // cancelled by a callback that ran before it
      try {
        d.fn();
      } catch (e) {
        reportError(e);
      }
    }
    if (next !== Infinity && !this.#closed) this.#cover(next);
  }
}

/**
 * Callbacks at deadlines a few milliseconds away, on time. Deno's timers fire
 * about a millisecond late (`setTimeout(2)` after 3.1 ms here, `setTimeout(0)`
 * after 2.1 ms), which is half of a 2 ms settle again. Here a nanosleep(2),
 * run as a nonblocking FFI call on a thread of Deno's blocking pool, sleeps
 * until the earliest deadline; when it returns, every callback that is due
 * runs, and the next sleep starts for the earliest one left. So one sleep
 * serves any number of deadlines; a deadline earlier than every sleep under
 * way starts one more. Waits over PRECISE_MAX_MS, where a millisecond does not
 * matter, are plain timers. The deadlines are kept in a binary heap, earliest
 * first, so a wake costs what is due, not every deadline held: a mass change
 * of 100,000 watched files holds one per file, and a walk over all of them at
 * each wake took the event loop for seconds.
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

/** A deadline's place in the heap: its time, then its id (the order they were set in). */
type HeapEntry = readonly [at: number, id: number];

function earlier(a: HeapEntry, b: HeapEntry): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** A binary min-heap of deadlines; a cancelled one stays until it comes to the top. */
class DeadlineHeap {
  readonly #a: HeapEntry[] = [];

  /** The earliest entry, if any. */
  peek(): HeapEntry | undefined {
    return this.#a[0];
  }

  push(e: HeapEntry): void {
    const a = this.#a;
    let i = a.push(e) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(e, a[parent])) break;
      a[i] = a[parent];
      i = parent;
    }
    a[i] = e;
  }

  /** Removes and returns the earliest entry. */
  pop(): HeapEntry | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && earlier(a[l + 1], a[l]) ? l + 1 : l;
      if (!earlier(a[c], last)) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }

  clear(): void {
    this.#a.length = 0;
  }
}

/** Deadlines, each with a callback, kept until they are due, cancelled or closed. */
export class DeadlineClock {
  #nextId = 1;
  readonly #due = new Map<number, Due>();
  /** The ids in #due (and some cancelled ones), earliest first. */
  readonly #heap = new DeadlineHeap();
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
    this.#heap.push([at, id]);
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
    this.#heap.clear();
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

  /**
   * Runs the callbacks due now, in deadline order, without waiting for a
   * sleep's wake; returns how many ran. Under a flood the event loop runs
   * several handlers' chunks of 20-70 ms between two wakes, and a 2 ms
   * deadline came 54-355 ms late (bench/user_flood.ts): the handlers call
   * this between their chunks, so a deadline waits one chunk at most.
   */
  runDue(): number {
    if (this.#closed) return 0;
    const now = performance.now() + SLACK_MS;
    const ready: HeapEntry[] = [];
    for (let top = this.#earliest(); top !== undefined && top[0] <= now; top = this.#earliest()) {
      ready.push(this.#heap.pop()!);
    }
    let ran = 0;
    for (const [, id] of ready) {
      const d = this.#due.get(id);
      // Cancelled by a callback that ran before it.
      if (d === undefined) continue;
      this.#due.delete(id);
      ran++;
      try {
        d.fn();
      } catch (e) {
        reportError(e);
      }
    }
    return ran;
  }

  /** Runs what is due and sleeps again until the earliest left. */
  #woke(): void {
    this.runDue();
    const next = this.#earliest();
    if (next !== undefined && !this.#closed) this.#cover(next[0]);
  }

  /** The earliest deadline not cancelled (the cancelled ones before it leave the heap). */
  #earliest(): HeapEntry | undefined {
    for (let top = this.#heap.peek(); top !== undefined; top = this.#heap.peek()) {
      if (this.#due.has(top[1])) return top;
      this.#heap.pop();
    }
    return undefined;
  }
}

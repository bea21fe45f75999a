/**
 * Gives memory back once a burst of work is over. Under load V8 grows its
 * young generation (up to tens of MB) and glibc's arenas keep the pages
 * freed by other threads; neither returns them by itself once the agent is
 * quiet again, so without this the resident size stays at its peak for
 * good (bench/soak.ts measured 84 → 166 MiB). When a whole period passes
 * without work after some work, and the resident size grew since the last
 * give-back, a full collection and `malloc_trim` run (give_back_memory.ts).
 * Work alone is not enough: an idle agent's heartbeat or self-test does not
 * cost a collection each minute.
 *
 * @module
 */
import { giveBackMemory } from "../bpf/give_back_memory.ts";

/** How the give-back is triggered and what it does. */
export interface QuietGiveBackOptions {
  /** A number that moves whenever the agent works (kernel events, deliveries). */
  activity: () => number;
  /** How often to look (ms); quiet means no work over one whole period. Default 5000. */
  periodMs?: number;
  /** Resident size growth (bytes) since the last give-back worth a collection. Default 4 MiB. */
  minGrowthBytes?: number;
  /** The resident size now (default: `Deno.memoryUsage().rss`). */
  rss?: () => number;
  /** What gives memory back (default: a full collection, then `malloc_trim`). */
  giveBack?: () => void;
}

/** Watches the agent's work and gives memory back when a burst has ended. */
export class QuietGiveBack {
  readonly #activity: () => number;
  readonly #rss: () => number;
  readonly #giveBack: () => void;
  readonly #minGrowth: number;
  #lastActivity: number;
  #worked = false;
  /** The resident size right after the last give-back (or at the start). */
  #floor: number;
  #timer?: ReturnType<typeof setInterval>;
  /** Give-backs done so far. */
  count = 0;
  /** The resident size before and after the last give-back (bytes). */
  last?: { before: number; after: number };

  constructor(opts: QuietGiveBackOptions) {
    this.#activity = opts.activity;
    this.#rss = opts.rss ?? (() => Deno.memoryUsage().rss);
    this.#giveBack = opts.giveBack ?? giveBackMemory;
    this.#minGrowth = opts.minGrowthBytes ?? 4 * 2 ** 20;
    this.#lastActivity = this.#activity();
    this.#floor = this.#rss();
    const period = opts.periodMs ?? 5000;
    if (period > 0) {
      this.#timer = setInterval(() => this.check(), period);
      Deno.unrefTimer(this.#timer);
    }
  }

  /**
   * One look (the timer calls it every period): notes work since the last
   * look, or, when there was none and the burst before grew the resident
   * size, gives memory back. Returns whether it did.
   */
  check(): boolean {
    const now = this.#activity();
    if (now !== this.#lastActivity) {
      this.#lastActivity = now;
      this.#worked = true;
      return false;
    }
    if (!this.#worked) return false;
    this.#worked = false;
    const before = this.#rss();
    if (before - this.#floor < this.#minGrowth) return false;
    this.#giveBack();
    const after = this.#rss();
    this.#floor = after;
    this.last = { before, after };
    this.count++;
    return true;
  }

  /** Stops looking. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Gives memory back once a burst of work is over. Under load V8 grows its
 * young generation (up to tens of MB) and glibc's arenas keep the pages
 * freed by other threads; neither returns them by itself once the agent is
 * quiet again, so without this the resident size stays at its peak for
 * good (bench/soak.ts measured 84 → 166 MiB). When a whole period passes
 * without work after some work, and the resident size grew since the last
 * give-back, a full collection and `malloc_trim` run (give_back_memory.ts).
 * Work alone is not enough: an idle agent's heartbeat or self-test does not
 * cost a collection each minute. It looks only while there is work: `poke()`
 * (each turn that read kernel records) starts the looks, and they end once a
 * look finds the agent quiet, so an idle agent runs no timer for it.
 *
 * @module
 */
import { giveBackMemory } from "../bpf/give_back_memory.ts";

/** How the give-back is triggered and what it does. */
export interface QuietGiveBackOptions {
  /** A number that moves whenever the agent works (kernel events, deliveries). */
  activity: () => number;
  /** How often to look while there is work (ms); quiet means none over one whole period. Default 5000. */
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
  readonly #periodMs: number;
  #timer?: ReturnType<typeof setTimeout>;
  #afterStart?: ReturnType<typeof setTimeout>;
  #stopped = false;
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
    this.#periodMs = opts.periodMs ?? 5000;
  }

  /** There was work: looks every period until a look finds none since the one before. */
  poke(): void {
    if (this.#timer !== undefined || this.#stopped || this.#periodMs <= 0) return;
    const look = () => {
      const seen = this.#lastActivity;
      this.check();
      const busy = this.#lastActivity !== seen;
      this.#timer = busy && !this.#stopped ? setTimeout(look, this.#periodMs) : undefined;
      if (this.#timer !== undefined) Deno.unrefTimer(this.#timer);
    };
    this.#timer = setTimeout(look, this.#periodMs);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * One look (called every period while there is work): notes work since the last
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
    this.last = { before, after: this.#giveBackNow() };
    return true;
  }

  /** Gives memory back now; the resident size after it is the new floor, and returned. */
  #giveBackNow(): number {
    this.#giveBack();
    this.#floor = this.#rss();
    this.count++;
    return this.#floor;
  }

  /**
   * One give-back `ms` after the start returned. Part of what starting used
   * is free only then: what the start's own frames still held (the targets,
   * the read's windows), and what the hashing workers held, whose threads
   * exit some time after they are told to. The give-back at the end of the
   * start cannot return those (100,000 files: 8 MiB of JavaScript heap and
   * 17 MiB of resident size more, measured 2 s after the start).
   */
  afterStart(ms: number): void {
    if (this.#stopped || this.#afterStart !== undefined) return;
    this.#afterStart = setTimeout(() => {
      if (!this.#stopped) this.#giveBackNow();
    }, ms);
    Deno.unrefTimer(this.#afterStart);
  }

  /** Stops looking. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#afterStart !== undefined) clearTimeout(this.#afterStart);
  }
}

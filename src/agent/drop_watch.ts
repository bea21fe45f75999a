/**
 * Events the kernel could not put in a full ring buffer are lost; the
 * agent notices from the kernel's drop counter and rescans every watch, so
 * no change goes unreported.
 *
 * @module
 */
import { log } from "../log.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";

/** The kernel's side of a drop check. */
export interface DropCounter {
  /** The kernel's counters so far (`drops`: events lost to a full ring buffer). */
  counters(): { drops: bigint };
  /** Re-arms every watched inode (so the next change sends an event again). */
  rearmAll(): void;
}

/** Checks the drop counter and rescans after drops. */
export class DropWatch {
  readonly #kernel: DropCounter;
  readonly #rescan: () => void;
  #last = 0n;
  #timer?: ReturnType<typeof setInterval>;
  /** Rescans caused by dropped events so far. */
  rescans = 0;

  /** `rescan` re-reads every watch; it runs after the kernel is re-armed. */
  constructor(kernel: DropCounter, rescan: () => void) {
    this.#kernel = kernel;
    this.#rescan = rescan;
  }

  /** Registers `bpfink_rescans_total`. */
  register(metrics: MetricsRegistry): void {
    metrics.pulled(
      "bpfink_rescans_total",
      "Full rescans after dropped events.",
      "counter",
      () => this.rescans,
    );
  }

  /** Checks every `ms` until `stop`. */
  every(ms: number): void {
    this.#timer ??= setInterval(() => this.check(), ms);
  }

  /** Rescans once if the kernel dropped events since the last check. */
  check(): void {
    const { drops } = this.#kernel.counters();
    if (drops <= this.#last) return;
    log("kernel").warn(`ring buffer dropped ${drops - this.#last} events: rescanning every watch`);
    this.#last = drops;
    this.rescans++;
    this.#kernel.rearmAll();
    this.#rescan();
  }

  /** Stops the checks. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}

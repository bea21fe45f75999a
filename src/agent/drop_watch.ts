/**
 * Events the kernel could not put in a full ring buffer are lost; the
 * agent notices from the kernel's drop counter and rescans every watch, so
 * no change goes unreported. An inode event's writers stay in the kernel's
 * pending entry (held), so the rescan still names who changed that file.
 *
 * @module
 */
import { log } from "../log.ts";
import type { ExitedProcess, FimEvent, PendingWriter } from "../kernel/fim_event.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { type InodeId, inodeKeyString } from "../watch/inode_key.ts";
import { eventFromHeldWriter } from "../watch/proc_event.ts";

/** The kernel's side of a drop check. */
export interface DropCounter {
  /** The kernel's counters so far (`drops`: events lost to a full ring buffer). */
  counters(): { drops: bigint };
  /** Re-arms every watched inode (so the next change sends an event again). */
  rearmAll(): void;
  /** The inodes whose event found the ring full, with their writers (read before rearmAll). */
  heldWriters(): { id: InodeId; writers: PendingWriter[] }[];
  /** What the kernel kept of a process at its exit. */
  exited(pid: number): ExitedProcess | undefined;
}

/** The processes that changed each inode (`dev:ino`) whose event was dropped. */
export type DroppedCauses = Map<string, FimEvent[]>;

/** Checks the drop counter and rescans after drops. */
export class DropWatch {
  readonly #kernel: DropCounter;
  readonly #rescan: (causes: DroppedCauses) => void;
  #last = 0n;
  #timer?: ReturnType<typeof setInterval>;
  /** Rescans caused by dropped events so far. */
  rescans = 0;
  /** Dropped events whose process the rescan still named (from the kernel's held entries). */
  heldNamed = 0;

  /**
   * `rescan` re-reads every watch, naming the processes in `causes` for their
   * inodes; it runs after the kernel is re-armed.
   */
  constructor(kernel: DropCounter, rescan: (causes: DroppedCauses) => void) {
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
    metrics.pulled(
      "bpfink_rescan_named_writers_total",
      "Writers of dropped events that a rescan still named (the kernel kept them in its pending entry).",
      "counter",
      () => this.heldNamed,
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
    const causes: DroppedCauses = new Map();
    for (const { id, writers } of this.#kernel.heldWriters()) {
      const named = writers.map((w) =>
        eventFromHeldWriter(w, id, (pid) => this.#kernel.exited(pid))
      )
        .filter((e) => e !== undefined);
      this.heldNamed += named.length;
      if (named.length) causes.set(inodeKeyString(id), named);
    }
    this.#kernel.rearmAll();
    this.#rescan(causes);
  }

  /** Stops the checks. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}

/**
 * Events the kernel could not send are lost; the agent notices from the
 * kernel's drop counter and rescans every watch, so no change goes
 * unreported. An inode event's writers stay in the kernel's pending entry
 * (held), so the rescan still names who changed that file; an entry event's
 * process stays in its directory's, and a listing that finds an entry no
 * event named asks for it (heldFor).
 *
 * The counter is checked when the kernel has spoken, never on a timer that
 * would wake an idle agent: after each turn that read records from the ring
 * buffer. Each drop is followed by a notice record (FIM_DROP_NOTICE in
 * bpf/fim_event.h), so a loss with nothing else in the ring (a pending map
 * full, an io_submit past the requests the kernel reads) wakes the agent too.
 * A notice that finds the ring full is not needed: the records that fill it
 * are read later, and the turn that reads them checks a counter the kernel
 * had already raised. Checks are at least `minIntervalMs` apart, so a flood
 * of drops costs a rescan per interval, not one per drop.
 *
 * @module
 */
import { log } from "../log.ts";
import {
  type ExitedProcess,
  type FimEvent,
  FimOp,
  type PendingWriter,
} from "../kernel/fim_event.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { type InodeId, inodeKeyString } from "../watch/inode_key.ts";
import { eventFromHeldWriter } from "../watch/proc_event.ts";

/** The kernel's side of a drop check. */
export interface DropCounter {
  /** Events the kernel lost so far. */
  drops(): bigint;
  /** Re-arms every watched inode (so the next change sends an event again). */
  rearmAll(): void;
  /** The inodes whose event found the ring full, with their writers (read before rearmAll). */
  heldWriters(): { id: InodeId; writers: PendingWriter[] }[];
  /** What the kernel kept of a process at its exit. */
  exited(pid: number): ExitedProcess | undefined;
}

/** The processes that changed each inode (`dev:ino`) whose event was dropped. */
export type DroppedCauses = Map<string, FimEvent[]>;

/**
 * How long the processes a check found held stay on offer to listings
 * (heldFor): a listing started by the dropped events' neighbours in the ring
 * can come just after the check.
 */
export const HELD_FRESH_MS = 1000;

/** Checks the drop counter and rescans after drops. */
export class DropWatch {
  readonly #kernel: DropCounter;
  readonly #rescan: (causes: DroppedCauses) => void;
  readonly #minIntervalMs: number;
  #last = 0n;
  #checkedAt = -Infinity;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  /** What the last check found held, and when. */
  #held: DroppedCauses = new Map();
  #heldAt = -Infinity;
  /** Told after the next check. */
  #afterCheck: (() => void)[] = [];
  /** Rescans caused by dropped events so far. */
  rescans = 0;
  /** Dropped events whose process the rescan still named (from the kernel's held entries). */
  heldNamed = 0;

  /**
   * `rescan` re-reads every watch, naming the processes in `causes` for their
   * inodes; it runs after the kernel is re-armed. Checks are at least
   * `minIntervalMs` apart.
   */
  constructor(kernel: DropCounter, rescan: (causes: DroppedCauses) => void, minIntervalMs = 250) {
    this.#kernel = kernel;
    this.#rescan = rescan;
    this.#minIntervalMs = minIntervalMs;
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

  /**
   * Checks once the interval since the last check has passed, unless a check
   * is due already: at the start (what was lost while starting), then after
   * each turn that read records from the ring buffer.
   */
  poke(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const wait = Math.max(0, this.#checkedAt + this.#minIntervalMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#checkedAt = performance.now();
      this.check();
    }, wait);
  }

  /** Rescans once if the kernel dropped events since the last check. */
  check(): void {
    const drops = this.#kernel.drops();
    if (drops <= this.#last) return this.#told();
    log("kernel").warn(`ring buffer dropped ${drops - this.#last} events: rescanning every watch`);
    this.#last = drops;
    this.rescans++;
    const causes: DroppedCauses = new Map();
    const exited = (pid: number) => this.#kernel.exited(pid);
    for (const { id, writers } of this.#kernel.heldWriters()) {
      const named: FimEvent[] = [];
      for (const w of writers) {
        // An event for each kind of operation: a process that made entries in a
        // directory and removed others is a cause of both.
        const each = (w.ops.length ? w.ops : [FimOp.Write])
          .map((op) => eventFromHeldWriter({ ...w, ops: [op] }, id, exited))
          .filter((e) => e !== undefined);
        if (each.length) this.heldNamed++;
        named.push(...each);
      }
      if (named.length) causes.set(inodeKeyString(id), named);
    }
    this.#kernel.rearmAll();
    this.#held = causes;
    this.#heldAt = performance.now();
    this.#rescan(causes);
    this.#told();
  }

  /**
   * The processes the kernel kept for dropped events about inode `id` (for a
   * directory: events about its entries), for a listing that found a change
   * no kernel event named: once the drops not checked yet are (the next check,
   * at most the interval away), or from a check in the last HELD_FRESH_MS.
   * Undefined when there is neither.
   */
  heldFor(id: InodeId): Promise<FimEvent[]> | undefined {
    const key = inodeKeyString(id);
    if (!this.#stopped && this.#kernel.drops() > this.#last) {
      this.poke();
      return new Promise((r) => this.#afterCheck.push(() => r(this.#held.get(key) ?? [])));
    }
    const held = performance.now() - this.#heldAt <= HELD_FRESH_MS
      ? this.#held.get(key)
      : undefined;
    return held && Promise.resolve(held);
  }

  #told(): void {
    const waiting = this.#afterCheck;
    this.#afterCheck = [];
    for (const f of waiting) f();
  }

  /** Stops the checks. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#held = new Map();
    this.#told();
  }
}

/**
 * Events the kernel could not send are lost; the agent notices from the
 * kernel's drop counter and rescans, so no change goes unreported. An inode
 * event's writers stay in the kernel's pending entry (held), so the rescan
 * still names who changed that file; an entry event's process stays in its
 * directory's, and a listing that finds an entry no event named asks for it
 * (heldFor).
 *
 * What is rescanned: when every drop since the last check was held (the
 * kernel's unheld counter did not move), only the held inodes,
 * each re-armed (a held directory: every watch at or below it); otherwise
 * (a full pending map, an unplaced name, a mount, too many AIO requests, or
 * a held inode no watch is at) every watch, all re-armed. A user flooding a
 * watched directory of their own so costs a listing of that directory per
 * check, not a re-read of every watched file.
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
  /** Drops that left no entry held (each counted before it counts as a drop). */
  unheldDrops(): bigint;
  /** Re-arms one inode. */
  rearm(id: InodeId): void;
  /** The inodes whose event found the ring buffer full, with their writers (read before re-arming). */
  heldWriters(): { id: InodeId; writers: PendingWriter[] }[];
  /** What the kernel kept of a process at its exit. */
  exited(pid: number): ExitedProcess | undefined;
}

/** The processes that changed each inode (`dev:ino`) whose event was dropped. */
export type DroppedCauses = Map<string, FimEvent[]>;

/**
 * Re-reads after drops, naming the processes in `causes` for their inodes: only the watches at
 * the inodes in `only` (for a directory's: at or below it) when given, else every watch. Returns
 * how many watches it scheduled, or undefined when `only` names an inode no watch is at (the
 * caller then rescans every watch).
 */
export type DropRescan = (causes: DroppedCauses, only?: readonly InodeId[]) => number | undefined;

/**
 * How long the processes a check found held stay on offer to listings
 * (heldFor): a listing started by the dropped events' neighbours in the ring
 * can come just after the check.
 */
export const HELD_FRESH_MS = 1000;

/** Checks the drop counter and rescans after drops. */
export class DropWatch {
  readonly #kernel: DropCounter;
  readonly #rescan: DropRescan;
  readonly #minIntervalMs: number;
  #last = 0n;
  #lastUnheld = 0n;
  #checkedAt = -Infinity;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  /** What the last check found held, and when. */
  #held: DroppedCauses = new Map();
  #heldAt = -Infinity;
  /** Told after the next check. */
  #afterCheck: (() => void)[] = [];
  /** Rescans caused by dropped events so far (of every watch, or of the held inodes only). */
  rescans = 0;
  /** Of `rescans`, those of only the inodes the kernel held. */
  heldRescans = 0;
  /** Watches those rescans scheduled. */
  rescannedWatches = 0;
  /** Dropped events whose process the rescan still named (from the kernel's held entries). */
  heldNamed = 0;

  /**
   * `rescan` runs after the kernel is re-armed. Checks are at least `minIntervalMs` apart.
   */
  constructor(kernel: DropCounter, rescan: DropRescan, minIntervalMs = 250) {
    this.#kernel = kernel;
    this.#rescan = rescan;
    this.#minIntervalMs = minIntervalMs;
  }

  /** Registers `bpfink_rescans_total`. */
  register(metrics: MetricsRegistry): void {
    metrics.pulled(
      "bpfink_rescans_total",
      "Rescans after dropped events: of every watch, or of only the inodes the kernel held.",
      "counter",
      () => this.rescans,
    );
    metrics.pulled(
      "bpfink_held_rescans_total",
      "Rescans after dropped events of only the inodes the kernel held (every drop since the last check was held).",
      "counter",
      () => this.heldRescans,
    );
    metrics.pulled(
      "bpfink_rescanned_watches_total",
      "Watches that rescans after dropped events re-read.",
      "counter",
      () => this.rescannedWatches,
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
    // In this order: the kernel counts a drop that held nothing as unheld before it counts it as a
    // drop, and holds an entry before it counts that drop. So with the unheld count unmoved
    // after the drops read, every drop read left an entry held, which heldWriters() then finds.
    const drops = this.#kernel.drops();
    if (drops <= this.#last) return this.#told();
    const unheld = this.#kernel.unheldDrops();
    const lost = drops - this.#last;
    const onlyHeld = unheld === this.#lastUnheld;
    this.#last = drops;
    this.#lastUnheld = unheld;
    this.rescans++;
    const causes: DroppedCauses = new Map();
    const exited = (pid: number) => this.#kernel.exited(pid);
    const heldEntries = this.#kernel.heldWriters();
    for (const { id, writers } of heldEntries) {
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
    this.#held = causes;
    this.#heldAt = performance.now();
    const ids = heldEntries.map((h) => h.id);
    let scheduled: number | undefined;
    if (onlyHeld) {
      for (const id of ids) this.#kernel.rearm(id);
      scheduled = this.#rescan(causes, ids);
    }
    if (scheduled === undefined) {
      log("kernel").warn(`ring buffer dropped ${lost} events: rescanning every watch`);
      this.#kernel.rearmAll();
      scheduled = this.#rescan(causes) ?? 0;
    } else {
      this.heldRescans++;
      log("kernel").warn(
        `ring buffer dropped ${lost} events: rescanning the ${ids.length} inodes they were about`,
      );
    }
    this.rescannedWatches += scheduled;
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

/**
 * Delivery: every event goes to every output, and its outbox row is
 * acknowledged only once every output has delivered it — at once for the
 * outputs that deliver in `write` (stdout, terminal), when the sink took it
 * for those that settle later (file, syslog, http). An event an output
 * dropped is tried again on that output while the agent runs
 * (redelivery.ts), and the events after it wait for that output behind it,
 * so each output delivers in commit order; its row stays, so one the agent
 * had not delivered when it died is delivered again on the next start.
 * Every event is bounded in size first (pipeline/event_size.ts), so that no
 * sink refuses one for its size and holds up those behind it.
 *
 * What the agent keeps in memory for outputs that have not delivered is
 * bounded too (RedeliveryOptions.maxHeldBytes): past it, an event waits in
 * the outbox only (its id in an IdRanges), and once no output is waiting for
 * its backoff the outbox is read back a page at a time and those events are
 * given again to every output that settles later (#sweep). An output that had
 * not delivered them gets nothing newer until they are through, so it still
 * delivers in commit order; the others may get them twice, with the same
 * `event.id`, flagged `bpfink.redelivered`. Before, an HTTP receiver down
 * while a user rewrote 100 of their own watched files took the agent from 51
 * to 778 MiB in 150 s, about 16 KiB an event held.
 *
 * @module
 */
import { type ChangeEvent, redelivered } from "../pipeline/change_event.ts";
import { log } from "../log.ts";
import { LabeledCounter, type MetricsRegistry } from "../metrics/metrics_registry.ts";
import { registerOutputMetrics } from "../metrics/output_metrics.ts";
import type { Output } from "../outputs/output.ts";
import { type RedeliveryOptions, RedeliveryTimers } from "./redelivery.ts";
import { errorMessage } from "../error_message.ts";
import { boundFitted } from "../pipeline/event_size.ts";
import type { OutboxEntry } from "../store/baseline_store.ts";
import { IdRanges } from "./id_ranges.ts";

/** The outbox (the baseline store): where delivered rows are acknowledged, and waiting ones read back. */
export interface Outbox {
  ack(ids: number[]): void;
  /** Up to `limit` entries after row `afterId`, oldest first; undefined when they cannot be read now. */
  outboxAfter(afterId: number, limit: number): OutboxEntry[] | undefined;
}

/** Outbox rows read back and handed out at a time by #sweep. */
const SWEEP_PAGE = 128;
/** #sweep reads another page only while fewer events than this wait for outputs to settle. */
const SWEEP_WINDOW = 512;
/** When the outbox cannot be read, #sweep tries again after this long (ms). */
const SWEEP_RETRY_MS = 2000;
/** What held events may take in memory by default (bytes of their JSON). */
export const MAX_HELD_BYTES = 16 * 1024 * 1024;

/** Where an output's faults are reported (the agent's FaultBoard). */
export interface FaultReporter {
  fault(part: string, error: unknown, consequence: string): void;
  recovered(part: string, what?: string): void;
}

/** The fault-board part of output `o`. */
export function outputPart(o: Output): string {
  return `output ${o.name}`;
}

/** An event's outbox row and how many outputs still owe it a delivery. */
interface Unsettled {
  event: ChangeEvent;
  outboxId: number;
  /** Commit order. */
  seq: number;
  /** Outputs that settle later and have not delivered it yet. */
  left: number;
  /** The length of its JSON: roughly what keeping it costs. */
  bytes: number;
  /** Held lists it is on; its bytes count toward the bound while there is one. */
  holders: number;
}

/** An event an output has not delivered, waiting for that output's redelivery. */
interface Held {
  u: Unsettled;
  /** The output dropped it (sent again flagged `bpfink.redelivered`), or it only waited behind. */
  tried: boolean;
  /** The sink refused it for good: tried again at the output's backoff, never read back (#sweep). */
  refused?: boolean;
}

/** Fans events out to the outputs and acknowledges their outbox rows once delivered. */
export class Delivery {
  readonly #outputs: readonly Output[];
  readonly #outbox: Outbox;
  /** Outputs that settle after `write` returns. */
  readonly #settling: number;
  /** Outbox rows of events an output has not delivered yet, by `event.id`. */
  readonly #unsettled = new Map<string, Unsettled>();
  /** Per output that dropped events: what it has not delivered, in commit order. */
  readonly #held = new Map<Output, Held[]>();
  /** Outputs that dropped events for want of a sink (down, full): new events wait behind. */
  readonly #blocked = new Set<Output>();
  /** Outbox rows not acknowledged yet (the backlog gauge). */
  readonly #pending = new Set<number>();
  readonly #timers: RedeliveryTimers<Output>;
  readonly #byAction = new LabeledCounter(
    "bpfink_events_total",
    "Change events reported, by event.action.",
  );
  /** Outbox rows of events let go from memory: they wait in the outbox for #sweep. */
  readonly #waiting = new IdRanges();
  /** Outputs that had not delivered what #waiting holds: newer events wait behind it for them. */
  readonly #behind = new Set<Output>();
  /** Bytes of the events on some held list. */
  #heldBytes = 0;
  readonly #maxHeldBytes: number;
  #sweepTimer?: ReturnType<typeof setTimeout>;
  #seq = 0;
  #retrying = true;
  #acking = true;
  /** Events let go from memory to wait in the outbox (delivered from there by #sweep). */
  spilled = 0;
  /** Events with no outbox row that an output dropped beyond what may be held: lost. */
  lost = 0;
  /** Events a sink refused for good past what may be held: their rows wait for the next start. */
  deferred = 0;

  /** `faults` hears each output failing and recovering (part `output <name>`). */
  constructor(
    outputs: readonly Output[],
    outbox: Outbox,
    redelivery?: RedeliveryOptions,
    faults?: FaultReporter,
  ) {
    this.#outputs = outputs;
    this.#outbox = outbox;
    this.#timers = new RedeliveryTimers((o) => this.#redeliver(o), redelivery);
    this.#maxHeldBytes = redelivery?.maxHeldBytes ?? MAX_HELD_BYTES;
    for (const o of outputs) {
      o.onSettled?.((events, ok, refused) => this.#settled(o, events, ok, refused));
    }
    if (faults) {
      for (const o of outputs) {
        o.onFault?.((error) =>
          error === undefined ? faults.recovered(outputPart(o), "delivering again") : faults.fault(
            outputPart(o),
            error,
            "retrying; events it cannot deliver now stay in the outbox and are delivered again",
          )
        );
      }
    }
    this.#settling = outputs.filter((o) => o.onSettled).length;
  }

  /** Registers the delivery metrics: events by action, the outbox backlog, each output's counters. */
  register(metrics: MetricsRegistry): void {
    metrics.add(this.#byAction);
    metrics.pulled(
      "bpfink_outbox_backlog",
      "Events committed to the outbox and not yet delivered by every output (delivered again after a restart).",
      "gauge",
      () => this.backlog,
    );
    metrics.pulled(
      "bpfink_redelivery_spilled_total",
      "Events an output had not delivered that waited in the outbox instead of memory, past what may be held (delivered from there).",
      "counter",
      () => this.spilled,
    );
    metrics.pulled(
      "bpfink_redelivery_lost_total",
      "Events with no outbox row (the database was failing) that an output dropped past what may be held: not delivered to it.",
      "counter",
      () => this.lost,
    );
    registerOutputMetrics(metrics, () => this.#outputs);
  }

  /** Events published so far (to every output, or to some). */
  get published(): number {
    return this.#seq;
  }

  /** Outbox rows not acknowledged yet. */
  get backlog(): number {
    return this.#pending.size + this.#waiting.size;
  }

  /**
   * Events waiting for an output that dropped events to be tried again (per
   * output, in memory), and those waiting in the outbox.
   */
  get redelivering(): number {
    return this.#heldCount() + this.#waiting.size;
  }

  /** Bytes of the held events kept in memory (at most maxHeldBytes, but for one event). */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  #heldCount(): number {
    let n = 0;
    for (const h of this.#held.values()) n += h.length;
    return n;
  }

  /**
   * Publishes committed events; `outboxIds[i]` is the row of `events[i]`
   * (`NOT_IN_OUTBOX`, a negative id, for events that have none).
   */
  deliver(events: readonly ChangeEvent[], outboxIds: readonly number[]): void {
    for (const id of outboxIds) this.#pending.add(id);
    events.forEach((whole, i) => {
      const u = this.#unsettledOf(whole, outboxIds[i], this.#settling);
      if (this.#settling > 0) this.#unsettled.set(u.event.event.id, u);
      this.#publish(u);
    });
    if (this.#settling === 0) this.#ack(outboxIds);
  }

  /**
   * Publishes `e` (outbox row `outboxId`) to `outputs` only, e.g. the start
   * record to a file output reopened by SIGHUP; dropped, it is tried again.
   */
  deliverTo(outputs: readonly Output[], whole: ChangeEvent, outboxId: number): void {
    const left = outputs.filter((o) => o.onSettled).length;
    const u = this.#unsettledOf(whole, outboxId, left);
    const e = u.event;
    if (left > 0) {
      this.#pending.add(outboxId);
      this.#unsettled.set(e.event.id, u);
    }
    for (const o of outputs) {
      if (this.#waitsBehind(o)) this.#hold(o, { u, tried: false });
      else this.#write(o, u, e);
    }
  }

  /** Event `whole`, bounded in size, as the next in commit order, owed by `left` outputs. */
  #unsettledOf(whole: ChangeEvent, outboxId: number, left: number): Unsettled {
    const { event, json } = boundFitted(whole);
    return { event, outboxId, seq: this.#seq++, left, bytes: json.length, holders: 0 };
  }

  /** Whether new events for `o` wait behind those it has not delivered. */
  #waitsBehind(o: Output): boolean {
    return !!o.onSettled &&
      (this.#blocked.has(o) || (this.#waiting.size > 0 && this.#behind.has(o)));
  }

  /** Stops trying dropped events again (they stay in the outbox for the next start). */
  stopRetrying(): void {
    this.#retrying = false;
    this.#timers.close();
    clearTimeout(this.#sweepTimer);
  }

  /** Stops acknowledging: the outbox is closed (late settlements are delivered again next start). */
  stopAcking(): void {
    this.#acking = false;
  }

  #ack(ids: readonly number[]): void {
    for (const id of ids) this.#pending.delete(id);
    this.#outbox.ack([...ids]);
  }

  /**
   * Output `o` settled `events`: acknowledge those every output has
   * delivered; hold those it dropped (and, unless it refused them for good,
   * the events after them) for its redelivery.
   */
  #settled(o: Output, events: readonly ChangeEvent[], delivered: boolean, refused = false): void {
    const done: number[] = [];
    for (const e of events) {
      const u = this.#unsettled.get(e.event.id);
      if (!u) continue;
      if (!delivered) {
        this.#hold(o, { u, tried: true, refused });
        if (!refused && this.#retrying) this.#blocked.add(o);
        continue;
      }
      if (--u.left > 0) continue;
      this.#unsettled.delete(e.event.id);
      done.push(u.outboxId);
    }
    if (delivered) this.#timers.reset(o);
    else if (events.length) this.#timers.schedule(o);
    if (done.length && this.#acking) this.#ack(done);
    this.#sweepSoon();
  }

  /**
   * Keeps `h` for output `o`'s next redelivery, in commit order; past the
   * memory bound (or behind events already waiting there), in the outbox only.
   */
  #hold(o: Output, h: Held): void {
    if (!this.#retrying) return;
    const u = h.u;
    if (this.#unsettled.get(u.event.event.id) !== u) return; // let go meanwhile
    const full = this.#heldCount() >= this.#timers.capacity ||
      (u.holders === 0 && this.#heldBytes + u.bytes > this.#maxHeldBytes);
    if (h.refused && full) {
      // Refused for good: read back at once, it would be refused again, and again. Its row
      // stays in the outbox for the next start.
      this.deferred++;
      this.#unsettled.delete(u.event.event.id);
      return;
    }
    if (
      !h.refused && u.outboxId >= 0 && (full || (this.#waiting.size > 0 && this.#behind.has(o)))
    ) {
      this.#spill(u, o);
      return;
    }
    if (full) {
      // No outbox row to wait in (the database was failing): counted as lost.
      this.lost++;
      this.#unsettled.delete(u.event.event.id);
      return;
    }
    let list = this.#held.get(o);
    if (!list) this.#held.set(o, list = []);
    let i = list.length;
    while (i > 0 && list[i - 1].u.seq > u.seq) i--;
    if (list[i - 1]?.u === u) return;
    list.splice(i, 0, h);
    if (u.holders++ === 0) this.#heldBytes += u.bytes;
  }

  /**
   * Lets `u` go from memory: its row waits in the outbox for #sweep, which
   * gives it to every output that settles later; `o`, and every output
   * waiting for its backoff, get nothing newer before it.
   */
  #spill(u: Unsettled, o: Output): void {
    this.#unsettled.delete(u.event.event.id);
    this.#pending.delete(u.outboxId);
    this.#waiting.add(u.outboxId);
    if (u.holders > 0) this.#heldBytes -= u.bytes;
    u.holders = 0;
    this.spilled++;
    this.#behind.add(o);
    for (const b of this.#blocked) this.#behind.add(b);
  }

  /** `h` leaves a held list. */
  #release(h: Held): void {
    if (h.u.holders > 0 && --h.u.holders === 0) this.#heldBytes -= h.u.bytes;
  }

  /**
   * Output `o`'s backoff ended: it gets what it has not delivered, in commit
   * order (those it dropped flagged `bpfink.redelivered`, same event.id),
   * then what waits in the outbox (#sweep).
   */
  #redeliver(o: Output): void {
    if (!this.#retrying) return;
    const list = this.#held.get(o) ?? [];
    this.#held.delete(o);
    this.#blocked.delete(o);
    for (const h of list) this.#release(h);
    for (let i = 0; i < list.length; i++) {
      if (this.#blocked.has(o)) {
        // It dropped one of these at once (buffer full): the rest wait behind it.
        for (const h of list.slice(i)) this.#hold(o, h);
        return;
      }
      const { u, tried } = list[i];
      if (this.#unsettled.get(u.event.event.id) !== u) continue;
      this.#write(o, u, tried ? redelivered(u.event) : u.event);
    }
    this.#sweepSoon();
  }

  #sweepSoon(): void {
    if (this.#waiting.size > 0 && this.#retrying && this.#sweepTimer === undefined) {
      this.#sweepAfter(0);
    }
  }

  #sweepAfter(ms: number): void {
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#sweep();
    }, ms);
  }

  /**
   * Gives the events waiting in the outbox to every output that settles
   * later, a page at a time, oldest first: only while no output waits for
   * its backoff (its redelivery calls this again) and few events are in
   * flight (each settlement calls this again).
   */
  #sweep(): void {
    if (!this.#retrying || this.#waiting.size === 0) return;
    if (this.#blocked.size > 0 || this.#unsettled.size >= SWEEP_WINDOW) return;
    const first = this.#waiting.first()!;
    const page = this.#outbox.outboxAfter(first - 1, SWEEP_PAGE);
    if (page === undefined) return this.#sweepAfter(SWEEP_RETRY_MS);
    const settling = this.#outputs.filter((o) => o.onSettled);
    for (const row of page) {
      if (!this.#waiting.has(row.id)) continue;
      this.#waiting.delete(row.id);
      const u = this.#unsettledOf(redelivered(row.event), row.id, settling.length);
      this.#unsettled.set(u.event.event.id, u);
      this.#pending.add(row.id);
      for (const o of settling) {
        if (this.#blocked.has(o)) this.#hold(o, { u, tried: true });
        else this.#write(o, u, u.event);
      }
    }
    // Rows up to the page's last are read: any id still waiting there was acknowledged meanwhile.
    if (page.length === 0) this.#waiting.clear();
    else this.#waiting.deleteThrough(page[page.length - 1].id);
    if (this.#waiting.size === 0) this.#behind.clear();
    this.#sweepSoon();
  }

  #publish(u: Unsettled): void {
    const e = u.event;
    if (e.event.action !== "started") this.#byAction.inc({ action: e.event.action });
    for (const o of this.#outputs) {
      // An output waiting for its redelivery gets this event after those, in order.
      if (this.#waitsBehind(o)) this.#hold(o, { u, tried: false });
      else this.#write(o, u, e);
    }
  }

  /** Writes `e` to `o`; one that throws is logged (and, if it settles later, tried again). */
  #write(o: Output, u: Unsettled, e: ChangeEvent): void {
    if (write(o, e) || !o.onSettled) return;
    this.#hold(o, { u, tried: true });
    if (this.#retrying) this.#blocked.add(o);
    this.#timers.schedule(o);
  }
}

/** Writes `e` to `o`; an output that throws is logged (false) and the others still get the event. */
function write(o: Output, e: ChangeEvent): boolean {
  try {
    o.write(e);
    return true;
  } catch (err) {
    log("output").error(`${o.name}: ${errorMessage(err)}`);
    return false;
  }
}

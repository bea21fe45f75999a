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
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { log } from "../log.ts";
import { LabeledCounter, type MetricsRegistry } from "../metrics/metrics_registry.ts";
import { registerOutputMetrics } from "../metrics/output_metrics.ts";
import type { Output } from "../outputs/output.ts";
import { type RedeliveryOptions, RedeliveryTimers } from "./redelivery.ts";
import { errorMessage } from "../error_message.ts";
import { boundEvent } from "../pipeline/event_size.ts";

/** Where acknowledged outbox rows go (the baseline store). */
export interface Outbox {
  ack(ids: number[]): void;
}

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
}

/** An event an output has not delivered, waiting for that output's redelivery. */
interface Held {
  u: Unsettled;
  /** The output dropped it (sent again flagged `bpfink.redelivered`), or it only waited behind. */
  tried: boolean;
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
  #seq = 0;
  #retrying = true;
  #acking = true;
  /** Events left for the next start because too many were held. */
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
    registerOutputMetrics(metrics, () => this.#outputs);
  }

  /** Events published so far (to every output, or to some). */
  get published(): number {
    return this.#seq;
  }

  /** Outbox rows not acknowledged yet. */
  get backlog(): number {
    return this.#pending.size;
  }

  /** Events waiting for an output that dropped events to be tried again (per output). */
  get redelivering(): number {
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
      const e = boundEvent(whole);
      const u = { event: e, outboxId: outboxIds[i], seq: this.#seq++, left: this.#settling };
      if (this.#settling > 0) this.#unsettled.set(e.event.id, u);
      this.#publish(u);
    });
    if (this.#settling === 0) this.#ack(outboxIds);
  }

  /**
   * Publishes `e` (outbox row `outboxId`) to `outputs` only, e.g. the start
   * record to a file output reopened by SIGHUP; dropped, it is tried again.
   */
  deliverTo(outputs: readonly Output[], whole: ChangeEvent, outboxId: number): void {
    const e = boundEvent(whole);
    const left = outputs.filter((o) => o.onSettled).length;
    const u = { event: e, outboxId, seq: this.#seq++, left };
    if (left > 0) {
      this.#pending.add(outboxId);
      this.#unsettled.set(e.event.id, u);
    }
    for (const o of outputs) {
      if (o.onSettled && this.#blocked.has(o)) this.#hold(o, { u, tried: false });
      else this.#write(o, u, e);
    }
  }

  /** Stops trying dropped events again (they stay in the outbox for the next start). */
  stopRetrying(): void {
    this.#retrying = false;
    this.#timers.close();
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
        this.#hold(o, { u, tried: true });
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
  }

  /** Keeps `h` for output `o`'s next redelivery, in commit order. */
  #hold(o: Output, h: Held): void {
    if (!this.#retrying) return;
    if (this.redelivering >= this.#timers.capacity) {
      // Its row stays: the next start delivers it.
      this.deferred++;
      this.#unsettled.delete(h.u.event.event.id);
      return;
    }
    let list = this.#held.get(o);
    if (!list) this.#held.set(o, list = []);
    let i = list.length;
    while (i > 0 && list[i - 1].u.seq > h.u.seq) i--;
    if (list[i - 1]?.u === h.u) return;
    list.splice(i, 0, h);
  }

  /**
   * Output `o`'s backoff ended: it gets what it has not delivered, in commit
   * order (those it dropped flagged `bpfink.redelivered`, same event.id).
   */
  #redeliver(o: Output): void {
    if (!this.#retrying) return;
    const list = this.#held.get(o) ?? [];
    this.#held.delete(o);
    this.#blocked.delete(o);
    for (let i = 0; i < list.length; i++) {
      if (this.#blocked.has(o)) {
        // It dropped one of these at once (buffer full): the rest wait behind it.
        for (const h of list.slice(i)) this.#hold(o, h);
        return;
      }
      const { u, tried } = list[i];
      if (!this.#unsettled.has(u.event.event.id)) continue;
      const e = tried ? { ...u.event, bpfink: { ...u.event.bpfink, redelivered: true } } : u.event;
      this.#write(o, u, e);
    }
  }

  #publish(u: Unsettled): void {
    const e = u.event;
    if (e.event.action !== "started") this.#byAction.inc({ action: e.event.action });
    for (const o of this.#outputs) {
      // An output waiting for its redelivery gets this event after those, in order.
      if (o.onSettled && this.#blocked.has(o)) this.#hold(o, { u, tried: false });
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

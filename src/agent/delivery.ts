/**
 * Delivery: every event goes to every output, and its outbox row is
 * acknowledged only once every output has delivered it — at once for the
 * outputs that deliver in `write` (stdout, terminal), when the sink took it
 * for those that settle later (file, syslog, http). An event an output
 * dropped is tried again on that output while the agent runs
 * (redelivery.ts); its row stays, so one the agent had not delivered when it
 * died is delivered again on the next start.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { log } from "../log.ts";
import { LabeledCounter, type MetricsRegistry } from "../metrics/metrics_registry.ts";
import { registerOutputMetrics } from "../metrics/output_metrics.ts";
import type { Output } from "../outputs/output.ts";
import { type Redelivery, type RedeliveryOptions, RedeliveryQueue } from "./redelivery.ts";
import { errorMessage } from "../error_message.ts";

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

/** An event's outbox row and the outputs that still owe it a settlement. */
interface Unsettled {
  outboxId: number;
  left: number;
  failed: Output[];
  attempt: number;
}

/** Fans events out to the outputs and acknowledges their outbox rows once delivered. */
export class Delivery {
  readonly #outputs: readonly Output[];
  readonly #outbox: Outbox;
  /** Outputs that settle after `write` returns. */
  readonly #settling: number;
  /** Outbox rows of events an output has not settled yet, by `event.id`. */
  readonly #unsettled = new Map<string, Unsettled>();
  /** Outbox rows not acknowledged yet (the backlog gauge). */
  readonly #pending = new Set<number>();
  readonly #redelivery: RedeliveryQueue;
  readonly #byAction = new LabeledCounter(
    "bpfink_events_total",
    "Change events reported, by event.action.",
  );
  #retrying = true;
  #acking = true;

  /** `faults` hears each output failing and recovering (part `output <name>`). */
  constructor(
    outputs: readonly Output[],
    outbox: Outbox,
    redelivery?: RedeliveryOptions,
    faults?: FaultReporter,
  ) {
    this.#outputs = outputs;
    this.#outbox = outbox;
    this.#redelivery = new RedeliveryQueue((r) => this.#redeliver(r), redelivery);
    for (const o of outputs) o.onSettled?.((events, ok) => this.#settled(o, events, ok));
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

  /** Outbox rows not acknowledged yet. */
  get backlog(): number {
    return this.#pending.size;
  }

  /** Events an output dropped, waiting to be tried again on it. */
  get redelivering(): number {
    return this.#redelivery.size;
  }

  /**
   * Publishes committed events; `outboxIds[i]` is the row of `events[i]`
   * (`NOT_IN_OUTBOX`, a negative id, for events that have none).
   */
  deliver(events: readonly ChangeEvent[], outboxIds: readonly number[]): void {
    for (const id of outboxIds) this.#pending.add(id);
    if (this.#settling > 0) {
      events.forEach((e, i) =>
        this.#unsettled.set(e.event.id, {
          outboxId: outboxIds[i],
          left: this.#settling,
          failed: [],
          attempt: 0,
        })
      );
    }
    for (const e of events) this.#publish(e);
    if (this.#settling === 0) this.#ack(outboxIds);
  }

  /** Stops trying dropped events again (they stay in the outbox for the next start). */
  stopRetrying(): void {
    this.#retrying = false;
    this.#redelivery.close();
  }

  /** Stops acknowledging: the outbox is closed (late settlements are delivered again next start). */
  stopAcking(): void {
    this.#acking = false;
  }

  #ack(ids: readonly number[]): void {
    for (const id of ids) this.#pending.delete(id);
    this.#outbox.ack([...ids]);
  }

  /** Output `o` settled `events`: acknowledge those every output has delivered. */
  #settled(o: Output, events: readonly ChangeEvent[], delivered: boolean): void {
    const done: number[] = [];
    for (const e of events) {
      const u = this.#unsettled.get(e.event.id);
      if (!u) continue;
      if (!delivered) u.failed.push(o);
      if (--u.left > 0) continue;
      this.#unsettled.delete(e.event.id);
      if (!u.failed.length) done.push(u.outboxId);
      else {
        this.#redelivery.add({
          event: e,
          outboxId: u.outboxId,
          outputs: u.failed,
          attempt: u.attempt,
        });
      }
    }
    if (done.length && this.#acking) this.#ack(done);
  }

  /** Tries an event again on the outputs that dropped it (same event.id, flagged). */
  #redeliver(r: Redelivery): void {
    if (!this.#retrying) return;
    const e = { ...r.event, bpfink: { ...r.event.bpfink, redelivered: true } };
    this.#unsettled.set(e.event.id, {
      outboxId: r.outboxId,
      left: r.outputs.length,
      failed: [],
      attempt: r.attempt,
    });
    for (const o of r.outputs) write(o, e);
  }

  #publish(e: ChangeEvent): void {
    if (e.event.action !== "started") this.#byAction.inc({ action: e.event.action });
    for (const o of this.#outputs) write(o, e);
  }
}

/** Writes `e` to `o`; an output that throws is logged and the others still get the event. */
function write(o: Output, e: ChangeEvent): void {
  try {
    o.write(e);
  } catch (err) {
    log("output").error(`${o.name}: ${errorMessage(err)}`);
  }
}

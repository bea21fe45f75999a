/**
 * The heartbeat: an event and a metric every interval, so fleets can alert
 * on an agent that went silent.
 *
 * @module
 */
import type { FimKernel } from "../kernel/fim_kernel.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { WatchSet } from "../watch/watch_set.ts";
import { heartbeatEvent } from "./store_events.ts";

/** Sends heartbeats and tells when the last one went out. */
export class Heartbeat {
  readonly #hostname: string;
  readonly #kernel: Pick<FimKernel, "spec" | "attached">;
  readonly #watch: Pick<WatchSet, "present">;
  readonly #send: (e: ChangeEvent) => void;
  #timer?: ReturnType<typeof setInterval>;
  /** When the last heartbeat went out (ms since the epoch); the start counts as the first. */
  last = Date.now();

  /** Heartbeats tell the strategy and programs of `kernel` and how much `watch` holds. */
  constructor(
    hostname: string,
    kernel: Pick<FimKernel, "spec" | "attached">,
    watch: Pick<WatchSet, "present">,
    send: (e: ChangeEvent) => void,
  ) {
    [this.#hostname, this.#kernel, this.#watch, this.#send] = [hostname, kernel, watch, send];
  }

  /** Registers `bpfink_heartbeat_timestamp_seconds`. */
  register(metrics: MetricsRegistry): void {
    metrics.pulled(
      "bpfink_heartbeat_timestamp_seconds",
      "When the agent last sent its heartbeat event (alert when it stops moving).",
      "gauge",
      () => this.last / 1000,
    );
  }

  /** Beats every `ms` until `stop`. */
  every(ms: number): void {
    this.#timer ??= setInterval(() => this.beat(), ms);
  }

  /** Sends one heartbeat now. */
  beat(): void {
    this.last = Date.now();
    const { spec, attached } = this.#kernel;
    this.#send(heartbeatEvent(this.#hostname, {
      watched_paths: this.#watch.present,
      strategy: spec.name,
      programs: attached,
    }));
  }

  /** Stops the beats. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}

/**
 * What every output (terminal, JSON lines, syslog, HTTP, ...) implements,
 * and the optional capabilities some have: settlement reports, delivery
 * counters, reopening.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";

/** Per-output delivery counters. */
export interface OutputCounters {
  /** Events the sink took (for HTTP: acknowledged with 2xx). */
  readonly sent: number;
  /** Events given up on: full buffer, refused for good, out of retries, or close deadline. */
  readonly dropped: number;
  /** Failed delivery attempts (a batch retried three times counts three). */
  readonly errors: number;
  /** Events accepted but not settled yet (waiting or in flight). */
  readonly queued: number;
}

/**
 * Hears that `events` were settled: `delivered` once the sink took them,
 * `false` when dropped; `refused` when the sink refused them for good (HTTP
 * 400...), not because it was down or full: the events after them need not
 * wait for them.
 */
export type SettledListener = (
  events: readonly ChangeEvent[],
  delivered: boolean,
  refused?: boolean,
) => void;

/**
 * Hears an output's health: the error while its deliveries fail (on every
 * failed attempt), `undefined` once it delivers again.
 */
export type FaultListener = (error: string | undefined) => void;

/** A destination for change events. `write` must never block detection. */
export interface Output {
  readonly name: string;
  write(event: ChangeEvent): void;
  close(): Promise<void>;
  /**
   * Present on outputs that deliver after `write` returns (the queued
   * ones): `listener` hears of each event once, delivered or dropped, and
   * replaces any earlier listener. An output without it has delivered an
   * event when `write` returns.
   */
  onSettled?(listener: SettledListener): void;
  /**
   * Present on outputs that can fail after `write` returns: `listener` hears
   * each failed attempt and the recovery (replaces any earlier listener).
   */
  onFault?(listener: FaultListener): void;
  /** Delivery counters, on outputs that keep them (the queued ones). */
  readonly counters?: OutputCounters;
  /** Reopens the output's file (logrotate moved it away: SIGHUP). */
  reopen?(): void;
}

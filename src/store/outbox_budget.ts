/**
 * How much the outbox may hold on disk. Events wait in the outbox until
 * every output has taken them; while a sink is down, a local user who
 * rewrites a file of their own in a watched tree makes one event after
 * another (a line diff of up to 64 KiB each), and an outbox without a bound
 * grows until /var is full: the agent would fill its own host's disk.
 *
 * Up to three quarters of the budget, an event waits in full. Past that it
 * waits in short form (at most SHORT_EVENT_BYTES: what happened, to which
 * file, by whom; long strings and lists cut, `bpfink.truncated` set; see
 * event_size.ts), so that many more changes still wait to be delivered.
 * Past the whole budget an event is not kept in the outbox: it is delivered
 * from memory as far as Delivery holds it, and counted. The outputs that
 * are up get every event in full either way; only what waits on disk is cut.
 *
 * Sizes are characters of JSON (SQLite's `length()` of the row): bytes for
 * JSON's ASCII, fewer than bytes only for names outside it.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { fitEvent } from "../pipeline/event_size.ts";
import { CONFIG_DEFAULTS } from "../config/config_defaults.ts";
import { mib } from "../byte_size.ts";
import type { StoreFaults } from "./baseline_store.ts";

/** The most an event that waits in short form keeps (its JSON). */
export const SHORT_EVENT_BYTES = 2048;

/** The outbox's size against its budget, and what an event waits in. */
export class OutboxBudget {
  /** Characters of JSON in the outbox now (undefined until measured). */
  #bytes?: number;
  #over = false;
  /** Events that waited in short form because the outbox was past three quarters of its budget. */
  shortened = 0;
  /** Events not kept in the outbox because it was at its budget (delivered from memory only). */
  notKept = 0;

  constructor(
    readonly maxBytes: number = CONFIG_DEFAULTS.outboxMaxBytes,
    /** Hears the outbox passing three quarters of its budget, and back under half. */
    readonly faults?: StoreFaults,
  ) {}

  /** The outbox's size, when measured. */
  get bytes(): number {
    return this.#bytes ?? 0;
  }

  /** Whether the size is known (measured once per open database). */
  get measured(): boolean {
    return this.#bytes !== undefined;
  }

  /** Sets the size as measured (SQLite's sum of `length(event)`). */
  measure(bytes: number): void {
    this.#bytes = bytes;
  }

  /** The size is to be measured again (a rebuilt database). */
  forget(): void {
    this.#bytes = undefined;
  }

  /**
   * The JSON `e` waits in, given `pending` characters already added in this
   * transaction; undefined when the outbox has no room for it. Does not
   * count it: `added` does, once the transaction is committed.
   */
  form(e: ChangeEvent, pending: number): string | undefined {
    const json = JSON.stringify(e);
    const now = this.bytes + pending;
    if (now + json.length <= this.maxBytes * 3 / 4) return json;
    const short = json.length <= SHORT_EVENT_BYTES ? json : fitEvent(e, SHORT_EVENT_BYTES)?.json;
    if (short !== undefined && now + short.length <= this.maxBytes) {
      if (short !== json) this.shortened++;
      this.#overNow();
      return short;
    }
    this.notKept++;
    this.#overNow();
    return undefined;
  }

  /** Rows of `bytes` characters were committed to the outbox. */
  added(bytes: number): void {
    if (this.#bytes !== undefined) this.#bytes += bytes;
  }

  /** Rows of `bytes` characters left the outbox (delivered). */
  removed(bytes: number): void {
    if (this.#bytes === undefined) return;
    this.#bytes = Math.max(0, this.#bytes - bytes);
    if (this.#over && this.#bytes <= this.maxBytes / 2) {
      this.#over = false;
      this.faults?.recovered(
        "outbox",
        `the outbox is down to ${mib(this.#bytes)}: events wait in it in full again`,
      );
    }
  }

  #overNow(): void {
    if (this.#over) return;
    this.#over = true;
    this.faults?.fault(
      "outbox",
      new Error(
        `the outbox holds ${mib(this.bytes)} of events an output has not taken ` +
          `(its budget is ${mib(this.maxBytes)}, outbox_max_bytes)`,
      ),
      "events wait in it in short form (line diffs cut, bpfink.truncated) and past the budget " +
        "only in memory, counted in bpfink_outbox_not_kept_total; outputs that are up still " +
        "get every event in full",
    );
  }
}

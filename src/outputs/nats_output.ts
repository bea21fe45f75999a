/**
 * NATS JetStream: each event is published to a subject with the header
 * `Nats-Msg-Id` = `event.id`, and counts as sent only once JetStream has
 * acknowledged it (stored on a quorum of the stream's replicas). A retry
 * after a lost ack, or the outbox's redelivery after a crash, carries the
 * same id, so the stream's duplicate window keeps exactly one copy.
 *
 * The client reconnects across the listed servers on its own; a publish that
 * fails (no quorum while a node is down, timeout) is retried with backoff,
 * and only the events JetStream did not acknowledge are sent again.
 *
 * An event larger than the server's `max_payload` or the stream's
 * `max_msg_size` is shrunk to fit (pipeline/event_size.ts,
 * `bpfink.truncated`); one that cannot fit at all is counted as refused, and
 * never holds up the events behind it.
 *
 * @module
 */
// The NATS client (15 MB of RSS once loaded) is imported when the first batch is sent:
// a daemon without a nats output never loads it.
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsOutputConfig } from "../config/config_types.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { type BatchResult, QueuedOutput, type QueueOptions } from "./queued_output.ts";
import { errorMessage } from "../error_message.ts";
import { fitEvent } from "../pipeline/event_size.ts";

const encoder = new TextEncoder();

/** Bytes of a message's headers kept free of max_payload (NATS/1.0 and Nats-Msg-Id: a uuid). */
const HEADER_ROOM = 256;

/** JetStream's error for a message over its stream's max_msg_size. */
const MESSAGE_TOO_LARGE = 10054;

/** Whether a publish was refused for the message's size. */
function isTooLarge(e: unknown): boolean {
  return (e as { code?: unknown } | undefined)?.code === MESSAGE_TOO_LARGE;
}

/** What a publish answered: the stream stored it, or it was a duplicate of a stored one. */
export interface PublishAck {
  seq: number;
  duplicate: boolean;
}

/** Publishes events to NATS JetStream. */
export class NatsOutput extends QueuedOutput {
  readonly name: string;
  #conn?: Promise<{ nc: NatsConnection; js: JetStreamClient }>;
  /** The stream's max_msg_size (#streamLimit); undefined until read. */
  #limit?: number;
  /** Acks received (duplicates included), for tests and status. */
  duplicates = 0;

  /** The config's fields; `opts` overrides queue details. */
  constructor(readonly cfg: Omit<NatsOutputConfig, "type">, opts: Partial<QueueOptions> = {}) {
    super({
      capacity: cfg.buffer,
      batchSize: cfg.batchSize,
      lingerMs: 0,
      maxRetries: cfg.maxRetries,
      backoffBaseMs: 200,
      backoffMaxMs: 10_000,
      ...opts,
    });
    this.name = `nats:${cfg.subject}`;
  }

  #connect(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    if (!this.#conn) {
      const attempt = (async () => {
        const { connect } = await import("@nats-io/transport-node");
        const { jetstream } = await import("@nats-io/jetstream");
        const nc = await connect({
          servers: this.cfg.servers,
          name: "bpfink",
          timeout: this.cfg.timeoutMs,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          ...(this.cfg.token ? { token: this.cfg.token } : {}),
        });
        if (this.cfg.stream) await this.#ensureStream(nc, this.cfg.stream);
        this.#limit = undefined;
        // A connection that closes for good (auth revoked...) is replaced on the next send.
        nc.closed().then(() => {
          if (this.#conn === attempt) this.#conn = undefined;
        });
        return { nc, js: jetstream(nc, { timeout: this.cfg.timeoutMs }) };
      })();
      this.#conn = attempt;
      attempt.catch(() => {
        if (this.#conn === attempt) this.#conn = undefined;
      });
    }
    return this.#conn;
  }

  /** Creates the stream when it does not exist (an existing one is left as it is). */
  async #ensureStream(nc: NatsConnection, name: string): Promise<void> {
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const jsm = await jetstreamManager(nc, { timeout: this.cfg.timeoutMs });
    try {
      await jsm.streams.info(name);
      return;
    } catch (e) {
      if (!/not found/i.test(errorMessage(e))) throw e;
    }
    await jsm.streams.add({
      name,
      subjects: [this.cfg.subject],
      num_replicas: this.cfg.replicas,
      duplicate_window: this.cfg.duplicateWindowMs * 1_000_000,
    });
  }

  /**
   * The largest message the stream that takes the subject stores
   * (`max_msg_size`, headers included), read once per connection and again
   * after a publish it refused for its size; Infinity when it has none or
   * cannot be read (credentials that may only publish).
   */
  async #streamLimit(nc: NatsConnection): Promise<number> {
    if (this.#limit !== undefined) return this.#limit;
    try {
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const jsm = await jetstreamManager(nc, { timeout: this.cfg.timeoutMs });
      const info = await jsm.streams.info(await jsm.streams.find(this.cfg.subject));
      const max = info.config.max_msg_size ?? -1;
      this.#limit = max > 0 ? max : Infinity;
    } catch {
      this.#limit = Infinity;
    }
    return this.#limit;
  }

  protected async send(batch: ChangeEvent[], _signal: AbortSignal): Promise<BatchResult | void> {
    const { nc, js } = await this.#connect().catch((e) => {
      throw new Error(`${this.cfg.servers.join(",")}: ${errorMessage(e)}`);
    });
    const fresh = this.#limit === undefined;
    // The server's max_payload and the stream's max_msg_size count the headers too.
    const room = Math.min(nc.info?.max_payload ?? Infinity, await this.#streamLimit(nc)) -
      HEADER_ROOM;
    const rejected: ChangeEvent[] = [];
    const sent: ChangeEvent[] = [];
    const results = await Promise.allSettled(
      batch.flatMap((e) => {
        const fitted = fitEvent(e, room);
        if (!fitted) {
          rejected.push(e);
          return [];
        }
        sent.push(e);
        return [js.publish(this.cfg.subject, encoder.encode(fitted.json), {
          msgID: e.event.id,
          timeout: this.cfg.timeoutMs,
        })];
      }),
    );
    if (rejected.length) this.lastError = `${this.name}: an event does not fit in a message`;
    const retry: ChangeEvent[] = [];
    let why = "";
    results.forEach((r, i) => {
      if (r.status === "fulfilled") {
        if (r.value.duplicate) this.duplicates++;
      } else if (isTooLarge(r.reason) && fresh) {
        // Too large for the limit just read: it would be refused again.
        rejected.push(sent[i]);
        this.lastError = `${this.name}: ${errorMessage(r.reason)}`;
      } else {
        // Too large for a limit read before: read it again, and fit the event to it.
        if (isTooLarge(r.reason)) this.#limit = undefined;
        retry.push(sent[i]);
        why ||= errorMessage(r.reason);
      }
    });
    if (retry.length && retry.length === batch.length) throw new Error(`${this.name}: ${why}`);
    if (retry.length) this.lastError = `${this.name}: ${why}`;
    return { retry, rejected };
  }

  protected override async release(): Promise<void> {
    const c = await this.#conn?.catch(() => undefined);
    this.#conn = undefined;
    await c?.nc.drain().catch(() => c.nc.close());
  }
}

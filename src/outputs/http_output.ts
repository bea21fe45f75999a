/**
 * Batched HTTP POST of events, in the shapes common receivers accept:
 * ndjson, a JSON array, Elastic's bulk API, Splunk HEC and Loki push.
 *
 * Exactly once or counted: a batch is sent until the receiver acknowledges
 * it (2xx) and is then `sent`; a refusal that retrying cannot fix (4xx other
 * than 408 and 429), running out of retries, a full buffer or the close
 * deadline count its events as `dropped`. A batch refused for its size (413)
 * is sent again in halves, so only an event too large by itself is dropped. Retries back off exponentially
 * with jitter and honour `Retry-After`; every request has a timeout. An
 * Elastic bulk response with item errors retries only the items that can
 * succeed later (429, 5xx). A request that timed out may still have been
 * processed, so a retry can duplicate it: Elastic bulk lines carry the event
 * id as `_id` and Loki drops identical entries, which makes those two
 * idempotent; other receivers can drop duplicates by `event.id`.
 *
 * @module
 */
import type { HttpOutputConfig } from "../config/config_types.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import {
  type BatchResult,
  PermanentError,
  QueuedOutput,
  type QueueOptions,
  RetryAfterError,
  TooLargeError,
} from "./queued_output.ts";

/** The data stream elastic_bulk writes to when no `index` is configured (`logs-<dataset>-<namespace>`). */
export const DEFAULT_ELASTIC_INDEX = "logs-bpfink-default";

/** Loki labels of an event: few values each (job, host, event.action, severity level). */
export function lokiLabels(e: ChangeEvent): Record<string, string> {
  const host = e.host?.hostname ?? "";
  const severity = typeof e.bpfink?.severity === "string" ? e.bpfink.severity : "";
  return {
    job: "bpfink",
    ...(host ? { host } : {}),
    action: e.event.action,
    ...(severity ? { severity } : {}),
  };
}

/**
 * The request body and content type for a batch in `format`. Elastic bulk
 * lines are `create` actions with `_index` and `_id` = event.id, so data
 * streams (which take only `create`) accept them and a retried line is a 409,
 * not a second copy.
 */
export function httpBody(
  format: HttpOutputConfig["format"],
  batch: ChangeEvent[],
  index = DEFAULT_ELASTIC_INDEX,
): { body: string; type: string } {
  switch (format) {
    case "json_array":
      return { body: JSON.stringify(batch), type: "application/json" };
    case "elastic_bulk":
      return {
        body: batch.map((e) =>
          `${JSON.stringify({ create: { _index: index, _id: e.event.id } })}\n${
            JSON.stringify(e)
          }\n`
        ).join(""),
        type: "application/x-ndjson",
      };
    case "splunk_hec":
      return {
        body: batch.map((e) =>
          JSON.stringify({
            time: Date.parse(e["@timestamp"]) / 1000,
            ...(e.host?.hostname ? { host: e.host.hostname } : {}),
            source: "bpfink",
            sourcetype: "_json",
            event: e,
          })
        ).join("\n"),
        type: "application/json",
      };
    case "loki": {
      const streams = new Map<string, { stream: Record<string, string>; values: string[][] }>();
      for (const e of batch) {
        const stream = lokiLabels(e);
        const key = JSON.stringify(stream);
        const ns = `${BigInt(Date.parse(e["@timestamp"]) || Date.now()) * 1_000_000n}`;
        const s = streams.get(key) ?? { stream, values: [] };
        s.values.push([ns, JSON.stringify(e)]);
        streams.set(key, s);
      }
      return {
        body: JSON.stringify({ streams: [...streams.values()] }),
        type: "application/json",
      };
    }
    case "ndjson":
      return {
        body: batch.map((e) => JSON.stringify(e) + "\n").join(""),
        type: "application/x-ndjson",
      };
  }
}

/** Statuses worth retrying: timeouts, throttling, server errors. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `Retry-After` in ms (seconds or an HTTP date), when present. */
function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** The Elastic bulk items that failed: which to retry and which were refused for good. */
export function bulkItemErrors(batch: ChangeEvent[], response: unknown): BatchResult {
  const r = response as { errors?: boolean; items?: Record<string, { status?: number }>[] };
  if (!r?.errors || !Array.isArray(r.items)) return {};
  const retry: ChangeEvent[] = [];
  const rejected: ChangeEvent[] = [];
  r.items.forEach((item, i) => {
    const status = Object.values(item ?? {})[0]?.status ?? 200;
    const e = batch[i];
    // 409: a retried request already indexed this _id; it is there.
    if (!e || (status >= 200 && status < 300) || status === 409) return;
    (retryableStatus(status) ? retry : rejected).push(e);
  });
  return { retry, rejected };
}

/** Posts batches of events to `cfg.url`. */
export class HttpOutput extends QueuedOutput {
  readonly name: string;
  /** The URL without credentials or query, for messages. */
  readonly #where: string;

  /** The config's fields; `opts` overrides queue details (tests shorten the backoff). */
  constructor(readonly cfg: Omit<HttpOutputConfig, "type">, opts: Partial<QueueOptions> = {}) {
    super({
      capacity: cfg.buffer,
      batchSize: cfg.batchSize,
      lingerMs: cfg.flushIntervalMs,
      maxRetries: cfg.maxRetries,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      ...opts,
    });
    const url = new URL(cfg.url);
    this.name = `http:${url.host}${url.pathname === "/" ? "" : url.pathname}`;
    this.#where = `${url.origin}${url.pathname}`;
  }

  protected async send(batch: ChangeEvent[], signal: AbortSignal): Promise<BatchResult | void> {
    const { body, type } = httpBody(this.cfg.format, batch, this.cfg.index);
    const r = await fetch(this.cfg.url, {
      method: "POST",
      body,
      headers: { "content-type": type, "user-agent": "bpfink", ...this.cfg.headers },
      signal: this.cfg.timeoutMs > 0
        ? AbortSignal.any([signal, AbortSignal.timeout(this.cfg.timeoutMs)])
        : signal,
    }).catch((e) => {
      throw new Error(
        `${this.#where}: ${
          e instanceof DOMException && e.name === "TimeoutError"
            ? `no answer within ${this.cfg.timeoutMs} ms`
            : e instanceof Error
            ? e.message
            : e
        }`,
      );
    });
    if (r.ok) {
      if (this.cfg.format !== "elastic_bulk") {
        await r.body?.cancel();
        return;
      }
      // Elastic answers 200 even when items failed: look at each one.
      const answer = await r.json().catch(() => undefined);
      return bulkItemErrors(batch, answer);
    }
    const text = (await r.text().catch(() => "")).slice(0, 200).replace(/\s+/g, " ");
    const msg = `${this.#where}: HTTP ${r.status}${text ? ` ${text}` : ""}`;
    if (r.status === 413) throw new TooLargeError(msg);
    if (!retryableStatus(r.status)) throw new PermanentError(msg);
    const after = retryAfterMs(r.headers.get("retry-after"));
    throw after === undefined ? new Error(msg) : new RetryAfterError(msg, after);
  }
}

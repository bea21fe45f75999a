/**
 * Batched HTTP POST of events, in the shapes common receivers accept:
 * ndjson, a JSON array, Elastic's bulk API, Splunk HEC, and Loki push.
 * Retries with exponential backoff and jitter; a batch is either
 * acknowledged (2xx) or, after the last retry, counted as dropped.
 *
 * @module
 */
import type { HttpOutputConfig } from "../config/config_types.ts";
import type { ChangeEvent } from "../events/change_event.ts";
import { QueuedOutput } from "./queued_output.ts";

/** The request body and content type for a batch in `format`. */
export function httpBody(
  format: HttpOutputConfig["format"],
  batch: ChangeEvent[],
): { body: string; type: string } {
  switch (format) {
    case "json_array":
      return { body: JSON.stringify(batch), type: "application/json" };
    case "elastic_bulk":
      return {
        body: batch.map((e) => `{"create":{}}\n${JSON.stringify(e)}\n`).join(""),
        type: "application/x-ndjson",
      };
    case "splunk_hec":
      return {
        body: batch.map((e) =>
          JSON.stringify({
            time: Date.parse(e["@timestamp"]) / 1000,
            host: e.host?.hostname,
            sourcetype: "bpfink",
            event: e,
          })
        ).join("\n"),
        type: "application/json",
      };
    case "loki": {
      const values = batch.map((
        e,
      ) => [`${BigInt(Date.parse(e["@timestamp"])) * 1_000_000n}`, JSON.stringify(e)]);
      return {
        body: JSON.stringify({
          streams: [{ stream: { job: "bpfink", host: batch[0]?.host?.hostname ?? "" }, values }],
        }),
        type: "application/json",
      };
    }
    default:
      return {
        body: batch.map((e) => JSON.stringify(e) + "\n").join(""),
        type: "application/x-ndjson",
      };
  }
}

/** Posts batches of events to `cfg.url`. */
export class HttpOutput extends QueuedOutput {
  readonly name: string;
  #aborts = new Set<AbortController>();

  constructor(readonly cfg: Omit<HttpOutputConfig, "type">) {
    super(cfg.buffer, cfg.batchSize);
    this.name = `http:${new URL(cfg.url).host}`;
    this.lingerMs = cfg.flushIntervalMs;
  }

  protected override retryDelay(attempt: number): number | undefined {
    if (attempt >= this.cfg.maxRetries) return undefined;
    return Math.min(30_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
  }

  protected async send(batch: ChangeEvent[]): Promise<void> {
    const { body, type } = httpBody(this.cfg.format, batch);
    const ac = new AbortController();
    this.#aborts.add(ac);
    const timer = setTimeout(() => ac.abort(), this.cfg.timeoutMs);
    try {
      const r = await fetch(this.cfg.url, {
        method: "POST",
        body,
        headers: { "content-type": type, ...this.cfg.headers },
        signal: ac.signal,
      });
      await r.body?.cancel();
      if (!r.ok) throw new Error(`${this.cfg.url}: HTTP ${r.status}`);
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(ac);
    }
  }

  protected override release(): Promise<void> {
    for (const ac of this.#aborts) ac.abort();
    return Promise.resolve();
  }
}

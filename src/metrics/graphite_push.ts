/**
 * Pushes the registry to Graphite (carbon's plaintext protocol) every
 * interval, one line per sample:
 *
 *     prefix.metric_name.label_value[.label_value…] value unix_seconds
 *
 * Label values follow the metric name in label order, with characters
 * Graphite treats specially replaced by `_`. The connection is kept open and
 * reopened after an error, at the next interval at the earliest; a push that
 * cannot be sent is counted as failed and skipped (the next one carries the
 * current values: counters are cumulative).
 *
 * @module
 */
import type { MetricsRegistry } from "./metrics_registry.ts";
import { errorMessage } from "../error_message.ts";

/** A Graphite path component: letters, digits, `_` and `-` only. */
export function graphiteComponent(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

/** The plaintext lines for one push (each ends with a newline). */
export function graphiteLines(registry: MetricsRegistry, prefix: string, nowS: number): string {
  const out: string[] = [];
  const head = prefix.split(".").filter((p) => p).map(graphiteComponent);
  for (const { metric, samples } of registry.collect()) {
    for (const s of samples) {
      if (!Number.isFinite(s.value)) continue;
      const path = [
        ...head,
        graphiteComponent(metric.name),
        ...Object.values(s.labels).map(graphiteComponent),
      ];
      out.push(`${path.join(".")} ${s.value} ${nowS}\n`);
    }
  }
  return out.join("");
}

/** Parses `host:port` (`[v6]:port` for IPv6). */
export function parseAddress(address: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new Error(`graphite address must be host:port, not "${address}"`);
  }
  return { hostname: m[1] ?? m[2], port };
}

/** A connection attempt or write longer than this fails the push (ms). */
const PUSH_TIMEOUT_MS = 5000;

/** A running pusher. */
export class GraphitePusher {
  readonly #target: { hostname: string; port: number };
  #conn?: Deno.TcpConn;
  #timer?: ReturnType<typeof setInterval>;
  #pushing?: Promise<void>;
  #closed = false;
  /** Pushes sent and failed, and the last failure. */
  readonly counters = { sent: 0, failed: 0, lastError: "" };

  /** Starts pushing every `intervalMs` (0: only when `push()` is called). Throws on a bad address. */
  constructor(
    readonly registry: MetricsRegistry,
    readonly address: string,
    readonly prefix: string,
    intervalMs: number,
  ) {
    this.#target = parseAddress(address);
    if (intervalMs > 0) this.#timer = setInterval(() => void this.push(), intervalMs);
  }

  /** Sends the current values now; never throws (failures are counted). A push in progress is awaited instead. */
  push(): Promise<void> {
    this.#pushing ??= this.#push().finally(() => (this.#pushing = undefined));
    return this.#pushing;
  }

  async #push(): Promise<void> {
    if (this.#closed) return;
    const signal = AbortSignal.timeout(PUSH_TIMEOUT_MS);
    try {
      if (!this.#conn) {
        const conn = await Deno.connect({ ...this.#target, signal });
        if (this.#closed) {
          conn.close();
          return;
        }
        this.#conn = conn;
        this.#watch(conn);
      }
      const conn = this.#conn;
      const bytes = new TextEncoder().encode(
        graphiteLines(this.registry, this.prefix, Math.floor(Date.now() / 1000)),
      );
      const onAbort = () => this.#drop(conn);
      signal.addEventListener("abort", onAbort);
      try {
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      this.counters.sent++;
    } catch (e) {
      this.counters.failed++;
      this.counters.lastError = errorMessage(e);
      this.#drop(this.#conn);
    }
  }

  /** Notices carbon closing the connection, so the next push reconnects instead of writing into the void. */
  async #watch(conn: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(256);
    try {
      while ((await conn.read(buf)) !== null) {
        // carbon does not answer
      }
    } catch {
      // closed by us, or reset
    }
    this.#drop(conn);
  }

  #drop(conn: Deno.TcpConn | undefined): void {
    if (!conn) return;
    if (this.#conn === conn) this.#conn = undefined;
    try {
      conn.close();
    } catch {
      // already closed
    }
  }

  /** Stops pushing and closes the connection (after a push in progress). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#pushing;
    this.#closed = true;
    this.#drop(this.#conn);
  }
}

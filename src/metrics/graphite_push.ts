/**
 * Pushes the registry to Graphite (carbon plaintext protocol) on an interval:
 * `prefix.name.label_value value timestamp`, one line per sample. Reconnects
 * after a failure; a push that cannot be sent is skipped (the next one carries
 * the current values).
 *
 * @module
 */
import type { MetricsRegistry } from "./metrics_registry.ts";

const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_");

/** The plaintext lines for one push. */
export function graphiteLines(registry: MetricsRegistry, prefix: string, nowS: number): string {
  const out: string[] = [];
  for (const m of registry.all()) {
    for (const s of m.collect()) {
      const labels = Object.values(s.labels).map(clean);
      out.push(`${[prefix, m.name, ...labels].filter((x) => x).join(".")} ${s.value} ${nowS}`);
    }
  }
  return out.join("\n") + "\n";
}

/** A running pusher. */
export class GraphitePusher {
  #conn?: Deno.Conn;
  #timer: ReturnType<typeof setInterval>;
  /** Pushes sent and failed. */
  readonly counters = { sent: 0, failed: 0 };

  constructor(
    readonly registry: MetricsRegistry,
    readonly address: string,
    readonly prefix: string,
    intervalMs: number,
  ) {
    this.#timer = setInterval(() => void this.push(), intervalMs);
  }

  /** Sends the current values now. */
  async push(): Promise<void> {
    const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(this.address);
    if (!m) throw new Error(`graphite address must be host:port, not "${this.address}"`);
    try {
      this.#conn ??= await Deno.connect({ hostname: m[1], port: Number(m[2]) });
      const bytes = new TextEncoder().encode(
        graphiteLines(this.registry, this.prefix, Math.floor(Date.now() / 1000)),
      );
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
      this.counters.sent++;
    } catch {
      this.counters.failed++;
      this.#conn?.close();
      this.#conn = undefined;
    }
  }

  /** Stops pushing and closes the connection. */
  close(): void {
    clearInterval(this.#timer);
    this.#conn?.close();
    this.#conn = undefined;
  }
}

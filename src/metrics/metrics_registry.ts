/**
 * A small metrics registry: counters and gauges with labels, read by the
 * Prometheus endpoint and the Graphite pusher. Values are pulled at
 * collection time from the functions registered here, so the hot path only
 * increments plain numbers.
 *
 * @module
 */

/** One sample of a metric. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** A metric family. */
export interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge";
  collect(): Sample[];
}

/** A counter keyed by label values. */
export class LabeledCounter implements Metric {
  readonly type = "counter";
  readonly #values = new Map<string, Sample>();
  constructor(readonly name: string, readonly help: string) {}

  /** Adds `n` for `labels`. */
  inc(labels: Record<string, string> = {}, n = 1): void {
    const key = JSON.stringify(labels);
    const s = this.#values.get(key);
    if (s) s.value += n;
    else this.#values.set(key, { labels, value: n });
  }

  collect(): Sample[] {
    return [...this.#values.values()];
  }
}

/** A metric whose samples are computed when collected. */
export class Pulled implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
    readonly read: () => Sample[] | number,
  ) {}

  collect(): Sample[] {
    const v = this.read();
    return typeof v === "number" ? [{ labels: {}, value: v }] : v;
  }
}

/** All metrics of the agent. */
export class MetricsRegistry {
  readonly #metrics: Metric[] = [];

  /** Registers a metric; returns it. */
  add<M extends Metric>(m: M): M {
    this.#metrics.push(m);
    return m;
  }

  /** Every metric. */
  all(): readonly Metric[] {
    return this.#metrics;
  }

  /** Prometheus text exposition format 0.0.4. */
  prometheusText(): string {
    const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
    const lines: string[] = [];
    for (const m of this.#metrics) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
      for (const s of m.collect()) {
        const l = Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(",");
        lines.push(`${m.name}${l ? `{${l}}` : ""} ${Number.isFinite(s.value) ? s.value : 0}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

/** Resident memory (bytes) and CPU time (seconds) of this process, from /proc. */
export function processUsage(): { rssBytes: number; cpuSeconds: number } {
  try {
    const statm = Deno.readTextFileSync("/proc/self/statm").split(" ");
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
    return { rssBytes: Number(statm[1]) * 4096, cpuSeconds: ticks / 100 };
  } catch {
    return { rssBytes: 0, cpuSeconds: 0 };
  }
}

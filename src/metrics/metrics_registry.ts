/**
 * A small metrics registry: counters and gauges with labels, plus metrics
 * pulled from a function at collection time, read by the Prometheus
 * endpoint and the Graphite pusher. The hot path only adds to a number in a
 * map; nothing here throws once a metric is registered.
 *
 *     const events = registry.counter("bpfink_events_total", "Change events.", ["action"]);
 *     events.inc({ action: "modified" });
 *     registry.gauge("bpfink_watched_inodes", "Watched inodes.").set(42);
 *     registry.pulled("bpfink_ringbuf_drops_total", "…", "counter", () => Number(k.drops));
 *     registerProcessMetrics(registry);
 *
 * @module
 */

/** Label names to values. */
export type Labels = Record<string, string>;

/** One sample of a metric. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** A metric family. */
export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  collect(): Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
  for (const l of labelNames) {
    if (!LABEL_NAME.test(l) || l.startsWith("__")) {
      throw new Error(`metric ${name}: invalid label name "${l}"`);
    }
  }
}

/** Samples keyed by their label values. */
class SampleMap {
  readonly #samples = new Map<string, Sample>();
  constructor(readonly labelNames: readonly string[]) {}

  /** The sample for `labels`, created at 0. Declared label names only, missing ones are "". */
  at(labels: Labels): Sample {
    const [key, clean] = this.#key(labels);
    let s = this.#samples.get(key);
    if (!s) {
      s = { labels: clean, value: 0 };
      this.#samples.set(key, s);
    }
    return s;
  }

  /** The value for `labels`, 0 when there is no such series (none is created). */
  value(labels: Labels): number {
    return this.#samples.get(this.#key(labels)[0])?.value ?? 0;
  }

  #key(labels: Labels): [string, Labels] {
    if (this.labelNames.length) {
      const clean: Labels = {};
      for (const n of this.labelNames) clean[n] = String(labels[n] ?? "");
      return [this.labelNames.map((n) => clean[n]).join("\u0000"), clean];
    }
    const entries = Object.entries(labels).filter(([k]) => LABEL_NAME.test(k)).sort((
      [a],
      [b],
    ) => a < b ? -1 : a > b ? 1 : 0).map(([k, v]) => [k, String(v)] as const);
    return [JSON.stringify(entries), Object.fromEntries(entries)];
  }

  all(): Sample[] {
    return [...this.#samples.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }));
  }
}

/** A counter: only goes up. */
export class Counter implements Metric {
  readonly type = "counter";
  readonly #samples: SampleMap;

  /** `labelNames` fixes the labels (and their order); without it any labels are taken. */
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    checkNames(name, labelNames);
    this.#samples = new SampleMap(labelNames);
  }

  /** Adds `n` (default 1) for `labels`; negative or non-finite `n` is ignored. */
  inc(labels: Labels = {}, n = 1): void {
    if (!(n >= 0) || !Number.isFinite(n)) return;
    this.#samples.at(labels).value += n;
  }

  /** The current value for `labels`. */
  get(labels: Labels = {}): number {
    return this.#samples.value(labels);
  }

  collect(): Sample[] {
    return this.#samples.all();
  }
}

/** The counter type under its earlier name (a counter keyed by label values). */
export const LabeledCounter = Counter;
/** The counter type under its earlier name. */
export type LabeledCounter = Counter;

/** A gauge: set to any value. */
export class Gauge implements Metric {
  readonly type = "gauge";
  readonly #samples: SampleMap;

  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    checkNames(name, labelNames);
    this.#samples = new SampleMap(labelNames);
  }

  /** Sets the value (for `labels`). */
  set(value: number): void;
  set(labels: Labels, value: number): void;
  set(a: Labels | number, b?: number): void {
    const [labels, value] = typeof a === "number" ? [{}, a] : [a, b ?? 0];
    this.#samples.at(labels).value = value;
  }

  /** Adds `n` (may be negative). */
  inc(labels: Labels = {}, n = 1): void {
    this.#samples.at(labels).value += n;
  }

  /** The current value for `labels`. */
  get(labels: Labels = {}): number {
    return this.#samples.value(labels);
  }

  collect(): Sample[] {
    return this.#samples.all();
  }
}

/** A metric whose samples are computed when collected (counts kept elsewhere). */
export class Pulled implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
    readonly read: () => Sample[] | number,
  ) {
    checkNames(name, []);
  }

  collect(): Sample[] {
    const v = this.read();
    return typeof v === "number" ? [{ labels: {}, value: v }] : v;
  }
}

/** A value in the exposition format: `NaN`, `+Inf` and `-Inf` spelled as Prometheus wants. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

const escHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** All metrics of the agent. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();

  /** Registers a metric; returns it. A second metric with the same name is an error. */
  add<M extends Metric>(m: M): M {
    if (this.#metrics.has(m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.#metrics.set(m.name, m);
    return m;
  }

  /** The counter `name`, registered on first use. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const m = this.#metrics.get(name);
    if (m instanceof Counter) return m;
    return this.add(new Counter(name, help, labelNames));
  }

  /** The gauge `name`, registered on first use. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const m = this.#metrics.get(name);
    if (m instanceof Gauge) return m;
    return this.add(new Gauge(name, help, labelNames));
  }

  /** Registers a metric read from `read` at each collection. */
  pulled(
    name: string,
    help: string,
    type: "counter" | "gauge",
    read: () => Sample[] | number,
  ): Pulled {
    return this.add(new Pulled(name, help, type, read));
  }

  /** The metric `name`, if registered. */
  get(name: string): Metric | undefined {
    return this.#metrics.get(name);
  }

  /** Every metric, in registration order. */
  all(): readonly Metric[] {
    return [...this.#metrics.values()];
  }

  /** Every metric's samples now; a metric whose `collect` throws yields none. */
  collect(): { metric: Metric; samples: Sample[] }[] {
    return this.all().map((metric) => {
      try {
        return { metric, samples: metric.collect() };
      } catch {
        return { metric, samples: [] };
      }
    });
  }

  /** Prometheus text exposition format 0.0.4. */
  prometheusText(): string {
    const lines: string[] = [];
    for (const { metric: m, samples } of this.collect()) {
      lines.push(`# HELP ${m.name} ${escHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
      for (const s of samples) {
        const l = Object.entries(s.labels).map(([k, v]) => `${k}="${escLabel(v)}"`).join(",");
        lines.push(`${m.name}${l ? `{${l}}` : ""} ${formatValue(s.value)}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

/** This process as the kernel accounts it. */
export interface ProcessMetrics {
  /** Resident set size (bytes). */
  residentMemoryBytes: number;
  /** Virtual memory size (bytes). */
  virtualMemoryBytes: number;
  /** User and system CPU time (seconds). */
  cpuSecondsTotal: number;
  /** Start time since the epoch (seconds). */
  startTimeSeconds: number;
  /** Open file descriptors. */
  openFds: number;
  threads: number;
}

/** USER_HZ, the unit of /proc times: 100 on every Linux architecture Deno runs on. */
const CLK_TCK = 100;

/** Reads /proc/self/{stat,status,fd} and /proc/stat; zeros where something is unreadable. */
export function collectProcessMetrics(): ProcessMetrics {
  const out: ProcessMetrics = {
    residentMemoryBytes: 0,
    virtualMemoryBytes: 0,
    cpuSecondsTotal: 0,
    startTimeSeconds: 0,
    openFds: 0,
    threads: 0,
  };
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // Fields after "(comm) ": state is field 3, so field N is at index N - 3.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.cpuSecondsTotal = (Number(f[14 - 3]) + Number(f[15 - 3])) / CLK_TCK;
    out.threads = Number(f[20 - 3]);
    out.virtualMemoryBytes = Number(f[23 - 3]);
    const btime = /^btime (\d+)$/m.exec(Deno.readTextFileSync("/proc/stat"));
    if (btime) out.startTimeSeconds = Number(btime[1]) + Number(f[22 - 3]) / CLK_TCK;
  } catch {
    // not Linux, or /proc not mounted
  }
  try {
    // VmRSS is in kB whatever the page size (statm counts pages).
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(Deno.readTextFileSync("/proc/self/status"));
    if (rss) out.residentMemoryBytes = Number(rss[1]) * 1024;
  } catch {
    // as above
  }
  try {
    for (const _ of Deno.readDirSync("/proc/self/fd")) out.openFds++;
  } catch {
    // as above
  }
  return out;
}

/** Resident memory (bytes) and CPU time (seconds) of this process, from /proc. */
export function processUsage(): { rssBytes: number; cpuSeconds: number } {
  const p = collectProcessMetrics();
  return { rssBytes: p.residentMemoryBytes, cpuSeconds: p.cpuSecondsTotal };
}

/**
 * Registers the standard process metrics (the names Prometheus client
 * libraries use, without the `bpfink_` prefix, so stock dashboards work):
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_cpu_seconds_total, process_start_time_seconds, process_open_fds.
 * /proc is read once per collection.
 */
export function registerProcessMetrics(registry: MetricsRegistry): void {
  let cached: { at: number; p: ProcessMetrics } | undefined;
  const read = () => {
    const now = performance.now();
    if (!cached || now - cached.at > 100) cached = { at: now, p: collectProcessMetrics() };
    return cached.p;
  };
  registry.pulled(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
    "gauge",
    () => read().residentMemoryBytes,
  );
  registry.pulled(
    "process_virtual_memory_bytes",
    "Virtual memory size in bytes.",
    "gauge",
    () => read().virtualMemoryBytes,
  );
  registry.pulled(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
    "counter",
    () => read().cpuSecondsTotal,
  );
  // performance.timeOrigin is when this process started (ms since the epoch): finer than
  // /proc's boot time, which is whole seconds.
  const started = Math.round(performance.timeOrigin) / 1000;
  registry.pulled(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
    "gauge",
    () => started,
  );
  registry.pulled(
    "process_open_fds",
    "Number of open file descriptors.",
    "gauge",
    () => read().openFds,
  );
}

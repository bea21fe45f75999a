/**
 * Reads and validates bpfink's YAML config. Every problem is reported with
 * its line and column; validation goes on after the first one so a person
 * can fix them all at once.
 *
 * @module
 */
import { CONFIG_DEFAULTS } from "./config_defaults.ts";
/** Defaults for a daemon (config_defaults.ts). */
export { CONFIG_DEFAULTS };
import { isAbsolute } from "node:path";
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { parseListen } from "../metrics/prometheus_endpoint.ts";
import { FACILITIES } from "../outputs/syslog/rfc5424.ts";
import { hostPort } from "../outputs/syslog/transports.ts";
import type {
  Config,
  ConsumerName,
  MetricsConfig,
  OutputConfig,
  WatchConfig,
} from "./config_types.ts";
import { errorMessage } from "../error_message.ts";

/** One problem in a config file. */
export interface ConfigProblem {
  line: number;
  col: number;
  message: string;
}

/** The result of loading a config. */
export interface LoadedConfig {
  config?: Config;
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

const CONSUMERS: ConsumerName[] = [
  "users",
  "groups",
  "sudoers",
  "access",
  "ssh_keys",
  "sshd",
  "cron",
  "preload",
  "pam",
  "systemd",
  "shell",
  "udev",
  "apt",
  "modprobe",
  "nss",
  "environment",
  "sudo_conf",
  "logrotate",
  "sysctl",
  "generic",
];
const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;
const MAX_CONFIG_BYTES = 1 << 20;

/** Parses "30s", "10m", "1h", "500ms" or a number of seconds into milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number" && v >= 0 && Number.isFinite(v)) return v * 1000;
  if (typeof v !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit];
}

class Checker {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  constructor(readonly lc: LineCounter) {}

  at(node: Node | null | undefined, message: string, warn = false): void {
    const off = node?.range?.[0] ?? 0;
    const { line, col } = this.lc.linePos(off);
    (warn ? this.warnings : this.errors).push({
      line: Math.max(line, 1),
      col: Math.max(col, 1),
      message,
    });
  }

  /** The map's entries as key → value node; unknown keys are errors. */
  fields(node: Node, allowed: string[], where: string): Map<string, Node | null> {
    const out = new Map<string, Node | null>();
    if (!isMap(node)) {
      this.at(node, `${where} must be a mapping`);
      return out;
    }
    for (const pair of (node as YAMLMap).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) {
        this.at(pair.key as Node, `${where}: keys must be plain names`);
        continue;
      }
      if (!allowed.includes(key)) {
        this.at(
          pair.key as Node,
          `${where}: unknown key "${key}" (allowed: ${allowed.join(", ")})`,
        );
        continue;
      }
      out.set(key, (pair.value as Node | null) ?? null);
    }
    return out;
  }

  str(node: Node | null | undefined, what: string): string | undefined {
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === "string" && node.value.length > 0) {
      return node.value;
    }
    this.at(node, `${what} must be a non-empty string`);
    return undefined;
  }

  int(node: Node | null | undefined, what: string, min = 0): number | undefined {
    if (node === undefined) return undefined;
    if (
      isScalar(node) && typeof node.value === "number" && Number.isInteger(node.value) &&
      node.value >= min
    ) {
      return node.value;
    }
    this.at(node, `${what} must be a whole number >= ${min}`);
    return undefined;
  }

  bool(node: Node | null | undefined, what: string): boolean | undefined {
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === "boolean") return node.value;
    this.at(node, `${what} must be true or false`);
    return undefined;
  }

  oneOf<T extends string>(
    node: Node | null | undefined,
    what: string,
    values: readonly T[],
  ): T | undefined {
    const s = this.str(node, what);
    if (s === undefined) return undefined;
    if ((values as readonly string[]).includes(s)) return s as T;
    this.at(node, `${what} must be one of ${values.join(", ")}, not "${s}"`);
    return undefined;
  }

  duration(node: Node | null | undefined, what: string): number | undefined {
    if (node === undefined) return undefined;
    const v = isScalar(node) ? parseDuration(node.value) : undefined;
    if (v === undefined) this.at(node, `${what} must be a duration like 30s, 10m or 1h`);
    return v;
  }

  strList(node: Node | null | undefined, what: string): string[] | undefined {
    if (node === undefined) return undefined;
    if (!isSeq(node)) {
      this.at(node, `${what} must be a list of strings`);
      return undefined;
    }
    return node.items.map((i) => this.str(i as Node, `${what} item`)).filter((s): s is string =>
      !!s
    );
  }

  absPath(node: Node | null | undefined, what: string): string | undefined {
    const s = this.str(node, what);
    if (s !== undefined && !isAbsolute(s)) {
      this.at(node, `${what} must be an absolute path, not "${s}"`);
      return undefined;
    }
    return s;
  }
}

function loadWatch(c: Checker, node: Node): WatchConfig | undefined {
  const f = c.fields(node, [
    "path",
    "consumer",
    "recursive",
    "include",
    "exclude",
    "secret",
    "diff_max_bytes",
    "diff_private",
    "ignore",
    "tags",
    "severity",
  ], "watch");
  const path = c.absPath(f.get("path") ?? undefined, "watch path");
  if (!f.has("path")) c.at(node, "watch: path is required");
  if (!path) return undefined;
  try {
    Deno.statSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "does not exist (yet): watched for its creation"
      : String(e);
    c.at(f.get("path"), `${path} ${why}`, true);
  }
  return {
    path,
    consumer: c.oneOf(f.get("consumer") ?? undefined, "consumer", CONSUMERS),
    recursive: c.bool(f.get("recursive") ?? undefined, "recursive") ?? false,
    include: c.strList(f.get("include") ?? undefined, "include") ?? [],
    exclude: c.strList(f.get("exclude") ?? undefined, "exclude") ?? [],
    secret: c.bool(f.get("secret") ?? undefined, "secret") ?? false,
    diffMaxBytes: c.int(f.get("diff_max_bytes") ?? undefined, "diff_max_bytes") ??
      CONFIG_DEFAULTS.diffMaxBytes,
    ...(c.bool(f.get("diff_private") ?? undefined, "diff_private") ? { diffPrivate: true } : {}),
    ...watchPolicyFields(c, f),
  };
}

/** A watch's `ignore`, `tags` and `severity`. */
function watchPolicyFields(
  c: Checker,
  f: ReturnType<Checker["fields"]>,
): Pick<WatchConfig, "ignore" | "tags" | "severity"> {
  const out: Pick<WatchConfig, "ignore" | "tags" | "severity"> = {};
  const ig = f.get("ignore");
  if (ig) {
    const g = c.fields(ig, ["comm", "executable", "paths"], "ignore");
    const executable = c.strList(g.get("executable") ?? undefined, "executable");
    for (const [i, e] of (executable ?? []).entries()) {
      if (!e.startsWith("/")) {
        c.at((g.get("executable") as YAMLSeq).items[i] as Node, `executable must be a full path`);
      }
    }
    out.ignore = {
      comm: c.strList(g.get("comm") ?? undefined, "comm") ?? [],
      executable: executable ?? [],
      paths: c.strList(g.get("paths") ?? undefined, "paths") ?? [],
    };
  }
  const tags = c.strList(f.get("tags") ?? undefined, "tags");
  if (tags) out.tags = tags;
  const severity = c.oneOf(
    f.get("severity") ?? undefined,
    "severity",
    ["info", "low", "medium", "high", "critical"] as const,
  );
  if (severity) out.severity = severity;
  return out;
}

function loadOutput(c: Checker, node: Node): OutputConfig | undefined {
  const typeNode = isMap(node)
    ? (node as YAMLMap).get("type", true) as Node | undefined
    : undefined;
  const type = c.oneOf(
    typeNode,
    "output type",
    ["stdout", "file", "syslog", "http", "nats"] as const,
  );
  if (!type) {
    if (!typeNode) c.at(node, "output: type is required (stdout, file, syslog, http or nats)");
    return undefined;
  }
  if (type === "nats") return loadNatsOutput(c, node);
  if (type === "stdout") {
    const f = c.fields(node, ["type", "format"], "stdout output");
    return {
      type,
      format: c.oneOf(f.get("format") ?? undefined, "format", ["json", "text"] as const) ?? "json",
    };
  }
  if (type === "file") {
    const f = c.fields(node, ["type", "path", "buffer"], "file output");
    const path = c.absPath(f.get("path") ?? undefined, "file output path");
    if (!f.has("path")) c.at(node, "file output: path is required");
    return path
      ? { type, path, buffer: c.int(f.get("buffer") ?? undefined, "buffer", 1) ?? 10_000 }
      : undefined;
  }
  if (type === "syslog") {
    const f = c.fields(
      node,
      ["type", "transport", "address", "app_name", "facility", "buffer", "sd_id"],
      "syslog output",
    );
    const transport =
      c.oneOf(f.get("transport") ?? undefined, "transport", ["udp", "tcp", "unix"] as const) ??
        "udp";
    const address = c.str(f.get("address") ?? undefined, "address") ??
      (transport === "unix" ? "/dev/log" : "127.0.0.1:514");
    if (transport === "unix" && !isAbsolute(address)) {
      c.at(f.get("address"), `syslog unix socket must be an absolute path, not "${address}"`);
    } else if (transport !== "unix") {
      try {
        hostPort(address);
      } catch (e) {
        c.at(f.get("address"), `${(e as Error).message} (e.g. 127.0.0.1:514)`);
      }
    }
    const facility = c.str(f.get("facility") ?? undefined, "facility") ?? "authpriv";
    if (FACILITIES[facility] === undefined) {
      c.at(
        f.get("facility"),
        `facility must be one of ${Object.keys(FACILITIES).join(", ")}, not "${facility}"`,
      );
    }
    return {
      type,
      transport,
      address,
      appName: c.str(f.get("app_name") ?? undefined, "app_name") ?? "bpfink",
      facility,
      buffer: c.int(f.get("buffer") ?? undefined, "buffer", 1) ?? 10_000,
      ...(f.has("sd_id") ? { sdId: c.str(f.get("sd_id") ?? undefined, "sd_id") } : {}),
    };
  }
  const f = c.fields(
    node,
    [
      "type",
      "url",
      "format",
      "headers",
      "batch_size",
      "flush_interval",
      "timeout",
      "buffer",
      "max_retries",
      "index",
    ],
    "http output",
  );
  const url = c.str(f.get("url") ?? undefined, "url");
  if (url !== undefined && !/^https?:\/\//.test(url)) {
    c.at(f.get("url"), `url must start with http:// or https://`);
  }
  if (!f.has("url")) c.at(node, "http output: url is required");
  const headers: Record<string, string> = {};
  const h = f.get("headers");
  if (h && !isMap(h)) c.at(h, "headers must be a mapping of header name to value");
  else if (h) {
    for (const p of (h as YAMLMap).items) {
      const name = c.str(p.key as Node, "header name");
      const value = c.str(p.value as Node, `header ${name}`);
      if (name && value !== undefined) headers[name] = value;
    }
  }
  return url
    ? {
      type,
      url,
      format: c.oneOf(
        f.get("format") ?? undefined,
        "format",
        ["ndjson", "json_array", "elastic_bulk", "splunk_hec", "loki"] as const,
      ) ?? "ndjson",
      headers,
      batchSize: c.int(f.get("batch_size") ?? undefined, "batch_size", 1) ?? 100,
      flushIntervalMs: c.duration(f.get("flush_interval") ?? undefined, "flush_interval") ?? 1000,
      timeoutMs: c.duration(f.get("timeout") ?? undefined, "timeout") ?? 10_000,
      buffer: c.int(f.get("buffer") ?? undefined, "buffer", 1) ?? 10_000,
      maxRetries: c.int(f.get("max_retries") ?? undefined, "max_retries") ?? 5,
      ...(f.has("index") ? { index: c.str(f.get("index") ?? undefined, "index") } : {}),
    }
    : undefined;
}

function loadNatsOutput(c: Checker, node: Node): OutputConfig | undefined {
  const f = c.fields(
    node,
    [
      "type",
      "servers",
      "subject",
      "stream",
      "replicas",
      "duplicate_window",
      "token",
      "batch_size",
      "timeout",
      "buffer",
      "max_retries",
    ],
    "nats output",
  );
  const serversNode = f.get("servers");
  const servers: string[] = [];
  if (!serversNode) c.at(node, "nats output: servers is required");
  else if (!isSeq(serversNode)) c.at(serversNode, "servers must be a list of host:port");
  else {
    for (const s of serversNode.items) {
      const v = c.str(s as Node, "server");
      if (v === undefined) continue;
      if (!/^(nats:\/\/)?(\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/.test(v)) {
        c.at(s as Node, `server must be host:port or nats://host:port, not "${v}"`);
      } else servers.push(v);
    }
  }
  const subject = c.str(f.get("subject") ?? undefined, "subject") ?? "bpfink.events";
  if (!/^[^\s*>]+$/.test(subject)) {
    c.at(f.get("subject"), "subject must be a NATS subject without spaces or wildcards");
  }
  const stream = c.str(f.get("stream") ?? undefined, "stream");
  if (stream !== undefined && !/^[A-Za-z0-9_-]+$/.test(stream)) {
    c.at(f.get("stream"), "stream must be letters, digits, _ or -");
  }
  return servers.length
    ? {
      type: "nats",
      servers,
      subject,
      ...(stream ? { stream } : {}),
      replicas: c.int(f.get("replicas") ?? undefined, "replicas", 1) ?? 1,
      duplicateWindowMs: c.duration(f.get("duplicate_window") ?? undefined, "duplicate_window") ??
        120_000,
      ...(f.has("token") ? { token: c.str(f.get("token") ?? undefined, "token") } : {}),
      batchSize: c.int(f.get("batch_size") ?? undefined, "batch_size", 1) ?? 100,
      timeoutMs: c.duration(f.get("timeout") ?? undefined, "timeout") ?? 5000,
      buffer: c.int(f.get("buffer") ?? undefined, "buffer", 1) ?? 10_000,
      maxRetries: c.int(f.get("max_retries") ?? undefined, "max_retries") ?? 20,
    }
    : undefined;
}

function loadMetrics(c: Checker, node: Node | null | undefined): MetricsConfig {
  if (!node) return {};
  const f = c.fields(node, ["prometheus", "graphite"], "metrics");
  const out: MetricsConfig = {};
  const p = f.get("prometheus");
  if (p) {
    const pf = c.fields(p, ["listen"], "prometheus");
    out.prometheus = { listen: c.str(pf.get("listen") ?? undefined, "listen") ?? "127.0.0.1:9464" };
    try {
      parseListen(out.prometheus.listen);
    } catch (e) {
      c.at(pf.get("listen"), (e as Error).message);
    }
  }
  const g = f.get("graphite");
  if (g) {
    const gf = c.fields(g, ["address", "prefix", "interval"], "graphite");
    const address = c.str(gf.get("address") ?? undefined, "graphite address");
    if (!gf.has("address")) c.at(g, "graphite: address is required");
    if (address) {
      out.graphite = {
        address,
        prefix: c.str(gf.get("prefix") ?? undefined, "prefix") ?? "bpfink",
        intervalMs: c.duration(gf.get("interval") ?? undefined, "interval") ?? 60_000,
      };
    }
  }
  return out;
}

/** Parses and validates config text. */
export function parseConfig(text: string): LoadedConfig {
  const lc = new LineCounter();
  const c = new Checker(lc);
  if (text.length > MAX_CONFIG_BYTES) {
    return {
      errors: [{ line: 1, col: 1, message: `config is larger than ${MAX_CONFIG_BYTES} bytes` }],
      warnings: [],
    };
  }
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  for (const e of doc.errors) {
    const { line, col } = lc.linePos(e.pos[0]);
    c.errors.push({ line, col, message: e.message.split("\n")[0] });
  }
  if (doc.errors.length) return { errors: c.errors, warnings: c.warnings };
  const root = doc.contents as Node | null;
  if (!root) return { errors: [{ line: 1, col: 1, message: "config is empty" }], warnings: [] };
  const f = c.fields(
    root,
    [
      "watches",
      "database",
      "outbox_max_bytes",
      "history_max_bytes",
      "user_text_max_bytes",
      "key_file",
      "log_level",
      "reconcile_interval",
      "self_test_interval",
      "heartbeat_interval",
      "max_watches",
      "strategy",
      "outputs",
      "metrics",
    ],
    "config",
  );
  const watchesNode = f.get("watches");
  const watches: WatchConfig[] = [];
  if (!watchesNode) c.at(root, "config: watches is required (a list of paths to watch)");
  else if (!isSeq(watchesNode)) c.at(watchesNode, "watches must be a list");
  else if (watchesNode.items.length === 0) {
    c.at(watchesNode, "watches is empty: list at least one path to watch");
  } else {
    for (const w of watchesNode.items) {
      const item = isScalar(w) && typeof w.value === "string"
        ? { path: c.absPath(w as Node, "watch path"), plain: true }
        : undefined;
      if (item?.path) {
        watches.push({
          path: item.path,
          recursive: false,
          include: [],
          exclude: [],
          secret: false,
          diffMaxBytes: CONFIG_DEFAULTS.diffMaxBytes,
        });
        continue;
      }
      if (item) continue;
      const got = loadWatch(c, w as Node);
      if (got) watches.push(got);
    }
  }
  const outputsNode = f.get("outputs");
  const outputs: OutputConfig[] = [];
  if (outputsNode) {
    if (!isSeq(outputsNode)) c.at(outputsNode, "outputs must be a list");
    else {for (const o of outputsNode.items) {
        const got = loadOutput(c, o as Node);
        if (got) outputs.push(got);
      }}
  }
  const config: Config = {
    watches,
    database: c.absPath(f.get("database") ?? undefined, "database") ?? CONFIG_DEFAULTS.database,
    outboxMaxBytes: c.int(f.get("outbox_max_bytes") ?? undefined, "outbox_max_bytes", MIN_STORED) ??
      CONFIG_DEFAULTS.outboxMaxBytes,
    historyMaxBytes:
      c.int(f.get("history_max_bytes") ?? undefined, "history_max_bytes", MIN_STORED) ??
        CONFIG_DEFAULTS.historyMaxBytes,
    userTextMaxBytes: c.int(f.get("user_text_max_bytes") ?? undefined, "user_text_max_bytes") ??
      CONFIG_DEFAULTS.userTextMaxBytes,
    keyFile: c.absPath(f.get("key_file") ?? undefined, "key_file") ?? CONFIG_DEFAULTS.keyFile,
    logLevel: c.oneOf(f.get("log_level") ?? undefined, "log_level", LOG_LEVELS) ??
      CONFIG_DEFAULTS.logLevel,
    reconcileIntervalMs:
      c.duration(f.get("reconcile_interval") ?? undefined, "reconcile_interval") ??
        CONFIG_DEFAULTS.reconcileIntervalMs,
    selfTestIntervalMs:
      c.duration(f.get("self_test_interval") ?? undefined, "self_test_interval") ??
        CONFIG_DEFAULTS.selfTestIntervalMs,
    heartbeatIntervalMs:
      c.duration(f.get("heartbeat_interval") ?? undefined, "heartbeat_interval") ??
        CONFIG_DEFAULTS.heartbeatIntervalMs,
    maxWatches: maxWatchesOf(c, f.get("max_watches") ?? undefined),
    strategy: c.oneOf(
      f.get("strategy") ?? undefined,
      "strategy",
      ["fentry", "kprobe", "tracepoint"] as const,
    ),
    outputs: outputs.length ? outputs : [{ type: "stdout", format: "json" }],
    metrics: loadMetrics(c, f.get("metrics")),
  };
  return { config: c.errors.length ? undefined : config, errors: c.errors, warnings: c.warnings };
}

/** The least `outbox_max_bytes` and `history_max_bytes`: 1 MiB, room for 16 of the largest events. */
const MIN_STORED = 1024 * 1024;

/** The largest watch map asked for: 16M inodes (each map entry is kernel memory). */
const MAX_WATCHES = 1 << 24;

/** `max_watches`: a whole number from 1024 to MAX_WATCHES. */
function maxWatchesOf(c: Checker, node: Node | undefined): number | undefined {
  const n = c.int(node, "max_watches", 1024);
  if (n === undefined || n <= MAX_WATCHES) return n;
  c.at(node!, `max_watches must be at most ${MAX_WATCHES}`);
  return undefined;
}

/** Reads and validates a config file. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    return {
      errors: [{
        line: 1,
        col: 1,
        message: `cannot read ${path}: ${errorMessage(e)}`,
      }],
      warnings: [],
    };
  }
  return parseConfig(text);
}

/** `FILE:LINE:COL: severity: message` lines for people. */
export function formatProblems(file: string, loaded: LoadedConfig): string[] {
  return [
    ...loaded.errors.map((p) => `${file}:${p.line}:${p.col}: error: ${p.message}`),
    ...loaded.warnings.map((p) => `${file}:${p.line}:${p.col}: warning: ${p.message}`),
  ];
}

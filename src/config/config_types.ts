/**
 * The typed shape of bpfink's YAML config (after validation). Durations are
 * milliseconds here; the YAML accepts "30s", "10m", "1h" or a number of seconds.
 *
 * @module
 */

/** JSON lines to stdout. */
export interface StdoutOutputConfig {
  type: "stdout";
  /** `json` (default for daemons) or `text` (one readable line per change). */
  format: "json" | "text";
}

/** JSON lines appended to a file; reopened on SIGHUP (logrotate). */
export interface FileOutputConfig {
  type: "file";
  path: string;
  /** Events held while the file cannot be written, before counting drops. */
  buffer: number;
}

/** RFC 5424 syslog. */
export interface SyslogOutputConfig {
  type: "syslog";
  transport: "udp" | "tcp" | "unix";
  /** `host:port` for udp/tcp, a socket path for unix. */
  address: string;
  /** RFC 5424 APP-NAME, default `bpfink`. */
  appName: string;
  /** Syslog facility name, default `authpriv`. */
  facility: string;
  buffer: number;
  /** Private SD-ID `name@PEN` for bpfink's structured data element (RFC 5424 7.2.2); none by default. */
  sdId?: string;
}

/** Batched HTTP POST of JSON events (Splunk HEC, Elastic bulk, Loki push shapes). */
export interface HttpOutputConfig {
  type: "http";
  url: string;
  /** `ndjson` (one event per line), `json_array`, `elastic_bulk`, `splunk_hec` or `loki`. */
  format: "ndjson" | "json_array" | "elastic_bulk" | "splunk_hec" | "loki";
  /** elastic_bulk: the index or data stream (`create` actions), default `logs-bpfink-default`. */
  index?: string;
  headers: Record<string, string>;
  batchSize: number;
  flushIntervalMs: number;
  timeoutMs: number;
  /** Events held in memory while the receiver is slow or down, before counting drops. */
  buffer: number;
  maxRetries: number;
}

/** NATS JetStream: one message per event, `Nats-Msg-Id` = event.id. */
export interface NatsOutputConfig {
  type: "nats";
  /** Servers of the cluster (`host:port` or `nats://host:port`); the client fails over between them. */
  servers: string[];
  /** Subject the events are published to, default `bpfink.events`. */
  subject: string;
  /** A stream to create when missing (with the subject, `replicas`, `duplicate_window`). */
  stream?: string;
  replicas: number;
  duplicateWindowMs: number;
  /** Token authentication, when the servers ask for it. */
  token?: string;
  /** Publishes in flight at once. */
  batchSize: number;
  timeoutMs: number;
  buffer: number;
  maxRetries: number;
}

/** One output. */
export type OutputConfig =
  | StdoutOutputConfig
  | FileOutputConfig
  | SyslogOutputConfig
  | HttpOutputConfig
  | NatsOutputConfig;

/** Metrics endpoints. */
export interface MetricsConfig {
  /** Prometheus text endpoint, `host:port`; default bound to 127.0.0.1. */
  prometheus?: { listen: string };
  /** Graphite plaintext push. */
  graphite?: { address: string; prefix: string; intervalMs: number };
}

/** Which consumer reads a watched file. */
export type ConsumerName =
  | "users"
  | "groups"
  | "sudoers"
  | "access"
  | "ssh_keys"
  | "sshd"
  | "cron"
  | "preload"
  | "pam"
  | "systemd"
  | "shell"
  | "udev"
  | "apt"
  | "modprobe"
  | "nss"
  | "environment"
  | "sudo_conf"
  | "logrotate"
  | "sysctl"
  | "generic";

/** One watch rule. */
export interface WatchConfig {
  path: string;
  /** Default: chosen from the file name (passwd, shadow, group, gshadow, sudoers, sudoers.d/*, access.conf, authorized_keys). */
  consumer?: ConsumerName;
  recursive: boolean;
  /** Globs (relative to `path`) of files to watch; default all. */
  include: string[];
  /** Globs (relative to `path`) of files to skip. */
  exclude: string[];
  /** A secret file: no line diff, no content stored, only hashes. */
  secret: boolean;
  /** Line diffs for text files up to this size (0 turns them off). */
  diffMaxBytes: number;
  /**
   * Line diffs also for plain files no other user may read (mode without
   * o+r): by default their lines are kept and counted as keyed
   * fingerprints only, as a secret file's are.
   */
  diffPrivate?: boolean;
  /** Changes not reported (baseline still updated, counted): by comm, executable, path glob. */
  ignore?: { comm?: string[]; executable?: string[]; paths?: string[] };
  /** ECS `tags` added to this watch's events. */
  tags?: string[];
  /** Severity of this watch's file events (semantic events keep a higher one of their own). */
  severity?: "info" | "low" | "medium" | "high" | "critical";
}

/** The whole config. */
export interface Config {
  watches: WatchConfig[];
  database: string;
  /** What the outbox may hold on disk (JSON characters) before events wait in it in short form. */
  outboxMaxBytes: number;
  /** What the event history may hold on disk (JSON characters); older events leave it. */
  historyMaxBytes: number;
  /** Text kept for line diffs of each owner's files but root's; past it, no line diffs for theirs. */
  userTextMaxBytes: number;
  keyFile: string;
  logLevel: "debug" | "info" | "warning" | "error";
  reconcileIntervalMs: number;
  /** Self-test through the live path this often (0: never). */
  selfTestIntervalMs: number;
  /** Heartbeat event and metric this often (0: never). */
  heartbeatIntervalMs: number;
  /** Inodes the kernel's watch map holds (default: twice the paths at start, at least 65,536). */
  maxWatches?: number;
  strategy?: "fentry" | "kprobe" | "tracepoint";
  outputs: OutputConfig[];
  metrics: MetricsConfig;
}

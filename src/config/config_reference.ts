/**
 * The reference of every config key: section, type, default, an example and
 * what it does. docs/config.md is generated from it (`deno task docs`), and
 * tests hold it to the loader: every key the loader accepts is here, and
 * every example here loads without an error.
 *
 * @module
 */

/** One config key. */
export interface KeyDoc {
  /** Where it sits: `config`, `watch`, `ignore`, `output stdout`, `prometheus`, ... */
  section: string;
  key: string;
  type: string;
  default: string;
  /** A YAML value that the loader accepts for this key. */
  example: string;
  doc: string;
}

const DUR = "duration (`500ms`, `30s`, `10m`, `1h`, or seconds)";

/** Every key, section by section, in the order the docs show them. */
export const CONFIG_REFERENCE: readonly KeyDoc[] = [
  {
    section: "config",
    key: "watches",
    type: "list of paths or watch mappings",
    default: "(required)",
    example: "[/etc/passwd]",
    doc: "What to watch; a plain string is a watch with defaults.",
  },
  {
    section: "config",
    key: "database",
    type: "absolute path",
    default: "/var/lib/bpfink/bpfink.db",
    example: "/var/lib/bpfink/bpfink.db",
    doc: "SQLite baseline, outbox and event history (root-only).",
  },
  {
    section: "config",
    key: "outbox_max_bytes",
    type: "integer (bytes, at least 1048576)",
    default: "268435456",
    example: "1073741824",
    doc:
      "Events waiting on disk for an output that is down: past 3/4 of this they wait in short form (line diffs cut), past all of it in memory only (counted).",
  },
  {
    section: "config",
    key: "history_max_bytes",
    type: "integer (bytes, at least 1048576)",
    default: "67108864",
    example: "268435456",
    doc:
      "The event history behind `bpfink events` (also at most 100,000 events); the oldest leave it first.",
  },
  {
    section: "config",
    key: "user_text_max_bytes",
    type: "integer (bytes)",
    default: "268435456",
    example: "67108864",
    doc:
      "Text kept for line diffs of the files of each owner other than root (all watches together); past it their changes are reported without a line diff. 0: none for their files.",
  },
  {
    section: "config",
    key: "key_file",
    type: "absolute path",
    default: "/etc/bpfink/hmac.key",
    example: "/etc/bpfink/hmac.key",
    doc: "Per-host key for secret fingerprints, created 0600 on first start.",
  },
  {
    section: "config",
    key: "log_level",
    type: "debug, info, warning, error",
    default: "info",
    example: "warning",
    doc: "The agent's own log (stderr, JSON).",
  },
  {
    section: "config",
    key: "reconcile_interval",
    type: DUR,
    default: "10m",
    example: "30m",
    doc: "Re-read every watch this often (catches what the kernel path cannot see).",
  },
  {
    section: "config",
    key: "self_test_interval",
    type: DUR,
    default: "1m",
    example: "5m",
    doc:
      "Prove the live path this often (0: never): a canary write the kernel object must report, and " +
      "every watched inode still in the kernel's map; a miss is a `self_test_failed` event, then re-attach.",
  },
  {
    section: "config",
    key: "heartbeat_interval",
    type: DUR,
    default: "5m",
    example: "1m",
    doc:
      "Emit a `heartbeat` event this often (0: never) and set `bpfink_heartbeat_timestamp_seconds`, so a " +
      "fleet can alert on an agent gone silent.",
  },
  {
    section: "config",
    key: "max_watches",
    type: "integer (at least 1024)",
    default:
      "(twice the paths watched at start, at least 65536; four times, at least 1024, for files alone)",
    example: "262144",
    doc:
      "Inodes the kernel's watch map holds. Each user other than root may add an eighth of them after the start, all together a quarter; raise it when `BpfinkWatchRefused` fires for growth you expect.",
  },
  {
    section: "config",
    key: "strategy",
    type: "fentry, kprobe, tracepoint",
    default: "(best that works)",
    example: "tracepoint",
    doc: "Only try this kernel object.",
  },
  {
    section: "config",
    key: "outputs",
    type: "list of output mappings",
    default: "[{type: stdout}]",
    example: "[{type: stdout}]",
    doc: "Where events go; see the output sections.",
  },
  {
    section: "config",
    key: "metrics",
    type: "mapping",
    default: "(none)",
    example: "{prometheus: {listen: 127.0.0.1:9464}}",
    doc: "Prometheus endpoint and Graphite push.",
  },

  {
    section: "watch",
    key: "path",
    type: "absolute path",
    default: "(required)",
    example: "/etc/sudoers.d",
    doc: "A file or directory; a missing one is watched for its creation.",
  },
  {
    section: "watch",
    key: "consumer",
    type:
      "users, groups, sudoers, access, ssh_keys, sshd, cron, preload, pam, systemd, shell, udev, apt, modprobe, nss, environment, sudo_conf, logrotate, sysctl, generic",
    default: "(by file name)",
    example: "sudoers",
    doc: "Who reads the file for meaning.",
  },
  {
    section: "watch",
    key: "recursive",
    type: "boolean",
    default: "false",
    example: "true",
    doc: "Descend into subdirectories.",
  },
  {
    section: "watch",
    key: "include",
    type: "list of globs",
    default: "[] (all)",
    example: "['*.conf']",
    doc:
      "Only these files (relative to `path`). A glob without `/` matches names at any depth; with `/`, only the subdirectories it can reach are walked and watched (`*/.ssh/authorized_keys` skips `alice/node_modules`).",
  },
  {
    section: "watch",
    key: "exclude",
    type: "list of globs",
    default: "[]",
    example: "['*.swp']",
    doc: "Not these files (not watched at all).",
  },
  {
    section: "watch",
    key: "secret",
    type: "boolean",
    default: "false",
    example: "true",
    doc: "Hashes only: no line diff and no content in the database.",
  },
  {
    section: "watch",
    key: "diff_max_bytes",
    type: "integer (bytes)",
    default: "262144",
    example: "65536",
    doc: "Line diffs for text files up to this size; 0 turns them off.",
  },
  {
    section: "watch",
    key: "diff_private",
    type: "boolean",
    default: "false",
    example: "true",
    doc: "Line diffs also for plain files others may not read (no o+r); else counted lines only.",
  },
  {
    section: "watch",
    key: "ignore",
    type: "mapping",
    default: "(none)",
    example: "{executable: [/usr/bin/dpkg]}",
    doc: "Changes not reported (baseline still moves; counted).",
  },
  {
    section: "watch",
    key: "tags",
    type: "list of strings",
    default: "[]",
    example: "[pci, config]",
    doc: "ECS `tags` on this watch's events.",
  },
  {
    section: "watch",
    key: "severity",
    type: "info, low, medium, high, critical",
    default: "(by action)",
    example: "high",
    doc: "Level of this watch's file events (semantic events keep a higher own).",
  },

  {
    section: "ignore",
    key: "executable",
    type: "list of absolute paths",
    default: "[]",
    example: "[/usr/bin/dpkg]",
    doc: "Changes by these programs (the path /proc gave).",
  },
  {
    section: "ignore",
    key: "comm",
    type: "list of strings",
    default: "[]",
    example: "[apt]",
    doc: "Changes by processes of these names (any process can take a name: prefer executable).",
  },
  {
    section: "ignore",
    key: "paths",
    type: "list of globs",
    default: "[]",
    example: "['*.dpkg-new']",
    doc: "Changes to these paths (relative to the watch path).",
  },

  {
    section: "output stdout",
    key: "type",
    type: "stdout",
    default: "",
    example: "stdout",
    doc: "JSON lines (or text) on standard output.",
  },
  {
    section: "output stdout",
    key: "format",
    type: "json, text",
    default: "json",
    example: "text",
    doc: "`text`: one readable line per change.",
  },

  {
    section: "output file",
    key: "type",
    type: "file",
    default: "",
    example: "file",
    doc: "JSON lines appended to a file (0600), reopened on SIGHUP.",
  },
  {
    section: "output file",
    key: "path",
    type: "absolute path",
    default: "(required)",
    example: "/var/log/bpfink/events.json",
    doc: "The file.",
  },
  {
    section: "output file",
    key: "buffer",
    type: "integer (events)",
    default: "10000",
    example: "5000",
    doc:
      "Events held while the file cannot be written (and at most 32 MiB of their JSON); more are counted as dropped.",
  },

  {
    section: "output syslog",
    key: "type",
    type: "syslog",
    default: "",
    example: "syslog",
    doc: "RFC 5424; MSGID = event.action, MSG = the JSON event.",
  },
  {
    section: "output syslog",
    key: "transport",
    type: "udp, tcp, unix",
    default: "udp",
    example: "tcp",
    doc: "UDP datagrams, TCP with octet counting, or a unix socket.",
  },
  {
    section: "output syslog",
    key: "address",
    type: "host:port or socket path",
    default: "127.0.0.1:514 (/dev/log for unix)",
    example: "127.0.0.1:6514",
    doc: "The receiver.",
  },
  {
    section: "output syslog",
    key: "app_name",
    type: "string",
    default: "bpfink",
    example: "bpfink",
    doc: "RFC 5424 APP-NAME.",
  },
  {
    section: "output syslog",
    key: "facility",
    type: "kern, user, ..., authpriv, local0-7",
    default: "authpriv",
    example: "local3",
    doc: "Syslog facility.",
  },
  {
    section: "output syslog",
    key: "buffer",
    type: "integer (events)",
    default: "10000",
    example: "10000",
    doc: "Events held while the receiver is down (and at most 32 MiB of their JSON).",
  },
  {
    section: "output syslog",
    key: "sd_id",
    type: "name@<enterprise number>",
    default: "(none: only [origin])",
    example: "bpfink@32473",
    doc: "Your organisation's SD-ID for bpfink's structured data element (RFC 5424 7.2.2).",
  },

  {
    section: "output http",
    key: "type",
    type: "http",
    default: "",
    example: "http",
    doc: "Batched POST with retries and backoff.",
  },
  {
    section: "output http",
    key: "url",
    type: "http(s) URL",
    default: "(required)",
    example: "https://splunk:8088/services/collector",
    doc: "The receiver.",
  },
  {
    section: "output http",
    key: "format",
    type: "ndjson, json_array, elastic_bulk, splunk_hec, loki",
    default: "ndjson",
    example: "elastic_bulk",
    doc: "Body shape.",
  },
  {
    section: "output http",
    key: "headers",
    type: "mapping of strings",
    default: "{}",
    example: "{Authorization: 'Splunk x'}",
    doc: "Extra request headers.",
  },
  {
    section: "output http",
    key: "batch_size",
    type: "integer (events)",
    default: "100",
    example: "500",
    doc: "Events per request.",
  },
  {
    section: "output http",
    key: "flush_interval",
    type: DUR,
    default: "1s",
    example: "5s",
    doc: "Wait this long for a full batch.",
  },
  {
    section: "output http",
    key: "timeout",
    type: DUR,
    default: "10s",
    example: "30s",
    doc: "Per request.",
  },
  {
    section: "output http",
    key: "buffer",
    type: "integer (events)",
    default: "10000",
    example: "20000",
    doc: "Events held while the receiver is slow or down (and at most 32 MiB of their JSON).",
  },
  {
    section: "output http",
    key: "max_retries",
    type: "integer",
    default: "5",
    example: "10",
    doc: "Retries per batch; then its events are counted as dropped (and stay in the outbox).",
  },
  {
    section: "output http",
    key: "index",
    type: "string",
    default: "logs-bpfink-default",
    example: "logs-fim-prod",
    doc: "elastic_bulk: the data stream or index (`create` actions).",
  },

  {
    section: "output nats",
    key: "type",
    type: "nats",
    default: "",
    example: "nats",
    doc: "NATS JetStream; Nats-Msg-Id = event.id.",
  },
  {
    section: "output nats",
    key: "servers",
    type: "list of host:port",
    default: "(required)",
    example: "[127.0.0.1:4222]",
    doc: "The cluster's servers; the client fails over between them.",
  },
  {
    section: "output nats",
    key: "subject",
    type: "subject",
    default: "bpfink.events",
    example: "fim.events",
    doc: "Where events are published.",
  },
  {
    section: "output nats",
    key: "stream",
    type: "stream name",
    default: "(none)",
    example: "BPFINK",
    doc: "Create this stream when missing.",
  },
  {
    section: "output nats",
    key: "replicas",
    type: "integer",
    default: "1",
    example: "3",
    doc: "Replicas of a stream bpfink creates.",
  },
  {
    section: "output nats",
    key: "duplicate_window",
    type: DUR,
    default: "2m",
    example: "10m",
    doc: "Duplicate window of a stream bpfink creates (longer than a restart).",
  },
  {
    section: "output nats",
    key: "token",
    type: "string",
    default: "(none)",
    example: "s3cret",
    doc: "Token authentication.",
  },
  {
    section: "output nats",
    key: "batch_size",
    type: "integer",
    default: "100",
    example: "50",
    doc: "Publishes in flight at once.",
  },
  {
    section: "output nats",
    key: "timeout",
    type: DUR,
    default: "5s",
    example: "2s",
    doc: "Connect and ack timeout.",
  },
  {
    section: "output nats",
    key: "buffer",
    type: "integer (events)",
    default: "10000",
    example: "10000",
    doc: "Events held while the cluster is unreachable (and at most 32 MiB of their JSON).",
  },
  {
    section: "output nats",
    key: "max_retries",
    type: "integer",
    default: "20",
    example: "100",
    doc: "Retries per event; then it is counted as dropped (and stays in the outbox).",
  },

  {
    section: "metrics",
    key: "prometheus",
    type: "mapping",
    default: "(none)",
    example: "{listen: 127.0.0.1:9464}",
    doc: "Serve /metrics.",
  },
  {
    section: "metrics",
    key: "graphite",
    type: "mapping",
    default: "(none)",
    example: "{address: 127.0.0.1:2003}",
    doc: "Push to Graphite (plaintext).",
  },
  {
    section: "prometheus",
    key: "listen",
    type: "host:port",
    default: "127.0.0.1:9464",
    example: "127.0.0.1:9464",
    doc: "Where to serve /metrics.",
  },
  {
    section: "graphite",
    key: "address",
    type: "host:port",
    default: "(required)",
    example: "graphite:2003",
    doc: "Carbon plaintext receiver.",
  },
  {
    section: "graphite",
    key: "prefix",
    type: "string",
    default: "bpfink",
    example: "bpfink.web-1",
    doc: "Metric name prefix.",
  },
  {
    section: "graphite",
    key: "interval",
    type: DUR,
    default: "60s",
    example: "30s",
    doc: "Push interval.",
  },
];

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** The reference as Markdown, one table per section. */
export function configReferenceMarkdown(): string {
  const sections = [...new Set(CONFIG_REFERENCE.map((k) => k.section))];
  return sections.map((s) => {
    const rows = CONFIG_REFERENCE.filter((k) => k.section === s).map((k) =>
      `| \`${k.key}\` | ${cell(k.type)} | ${cell(k.default)} | \`${cell(k.example)}\` | ${
        cell(k.doc)
      } |`
    );
    return `## ${s}\n\n| key | type | default | example | what it does |\n| --- | --- | --- | --- | --- |\n${
      rows.join("\n")
    }`;
  }).join("\n\n");
}

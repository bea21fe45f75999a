/**
 * The daemon's defaults, apart from the config loader (and its YAML parser),
 * which `--paths` runs never load.
 *
 * @module
 */

/** Defaults for a daemon. */
export const CONFIG_DEFAULTS = {
  database: "/var/lib/bpfink/bpfink.db",
  // In the state directory: the shipped unit makes /etc read-only (ProtectSystem=strict).
  keyFile: "/var/lib/bpfink/hmac.key",
  logLevel: "info",
  reconcileIntervalMs: 10 * 60_000,
  selfTestIntervalMs: 60_000,
  heartbeatIntervalMs: 5 * 60_000,
  diffMaxBytes: 256 * 1024,
  /** What the outbox may hold on disk (store/outbox_budget.ts). */
  outboxMaxBytes: 256 * 1024 * 1024,
  /** Text kept for line diffs of each owner's files but root's (store/owner_text.ts). */
  userTextMaxBytes: 256 * 1024 * 1024,
  /** What the event history may hold on disk (outputs/event_history.ts). */
  historyMaxBytes: 64 * 1024 * 1024,
} as const;

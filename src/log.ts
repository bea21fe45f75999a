/**
 * The agent's own operational log (never the change events): logtape, to
 * stderr, as text or JSON lines.
 *
 * @module
 */
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  resetSync,
  type Sink,
} from "@logtape/logtape";

const encoder = new TextEncoder();

/**
 * `s` with every control character (C0, DEL, C1) and every byte of a path
 * that is not UTF-8 (a lone surrogate, src/watch/path_bytes.ts) written as
 * an escape: a message that quotes a file or process name, which anyone may
 * choose, stays one line and cannot drive the terminal.
 */
export function escapeControls(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f\udc80-\udcff]/gu, (ch) => {
    if (ch === "\n") return "\\n";
    if (ch === "\t") return "\\t";
    const c = ch.charCodeAt(0);
    if (c >= 0xdc80) return `\\x${(c - 0xdc00).toString(16).padStart(2, "0")}`;
    return `\\u${c.toString(16).padStart(4, "0")}`;
  });
}

/** Configures logging once per process. */
export function setupLogging(opts: { level?: LogLevel; json?: boolean } = {}): void {
  const text = getTextFormatter({ timestamp: "time" });
  // JSON escapes control characters itself; text gets the message's own text escaped.
  const format = opts.json ? getJsonLinesFormatter() : (record: LogRecord) =>
    text({
      ...record,
      message: record.message.map((m, i) =>
        i % 2 === 0 && typeof m === "string" ? escapeControls(m) : m
      ),
    });
  const stderr: Sink = (record) => {
    Deno.stderr.writeSync(encoder.encode(format(record)));
  };
  resetSync();
  configureSync({
    sinks: { stderr },
    loggers: [
      { category: ["bpfink"], lowestLevel: opts.level ?? "info", sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** The logger for one part of the agent, e.g. `log("kernel")`. */
export function log(...category: string[]): Logger {
  return getLogger(["bpfink", ...category]);
}

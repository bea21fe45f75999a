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

import { escapeTerminal } from "./terminal_escape.ts";

const encoder = new TextEncoder();

/** Configures logging once per process. */
export function setupLogging(opts: { level?: LogLevel; json?: boolean } = {}): void {
  const text = getTextFormatter({ timestamp: "time" });
  // JSON escapes control characters itself; text gets the message's own text escaped.
  const format = opts.json ? getJsonLinesFormatter() : (record: LogRecord) =>
    text({
      ...record,
      message: record.message.map((m, i) =>
        i % 2 === 0 && typeof m === "string" ? escapeTerminal(m) : m
      ),
    });
  // A stderr that cannot take a line (a pipe closed by `| head`) loses that line, and nothing
  // else: the line is not an event, and monitoring goes on.
  const stderr: Sink = (record) => {
    try {
      Deno.stderr.writeSync(encoder.encode(format(record)));
    } catch { /* stderr is gone */ }
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

/**
 * Builds outputs from their config.
 *
 * @module
 */
import type { OutputConfig } from "../config/config_types.ts";
import { FileOutput } from "./file_output.ts";
import { HttpOutput } from "./http_output.ts";
import { JsonLinesOutput } from "./json_lines.ts";
import { NatsOutput } from "./nats_output.ts";
import type { Output } from "./output.ts";
import { SyslogOutput } from "./syslog/syslog_output.ts";
import { TerminalOutput } from "./terminal.ts";

/**
 * The output for `cfg`. Throws (with a message naming the field) when the
 * config cannot work, e.g. an unknown syslog facility or a malformed address.
 */
export function createOutput(cfg: OutputConfig): Output {
  switch (cfg.type) {
    case "stdout":
      return cfg.format === "text" ? new TerminalOutput() : new JsonLinesOutput();
    case "file":
      return new FileOutput(cfg.path, cfg.buffer);
    case "syslog":
      return new SyslogOutput(
        cfg.transport,
        cfg.address,
        cfg.appName,
        cfg.facility,
        cfg.buffer,
        cfg.sdId ? { sdId: cfg.sdId } : {},
      );
    case "http":
      return new HttpOutput(cfg);
    case "nats":
      return new NatsOutput(cfg);
  }
}

/**
 * The one validation of a daemon config, shared by `bpfink run` and
 * `bpfink config check` so that they can never disagree: the YAML and its
 * fields (load_config.ts), every output as `run` would build it, and the
 * files the daemon will trust as root (database and WAL, key, log files).
 *
 * @module
 */
import type { Config } from "./config_types.ts";
import { formatProblems, loadConfig } from "./load_config.ts";
import { createOutput } from "../outputs/output_factory.ts";
import { databaseFiles } from "../store/baseline_store.ts";
import { trustProblems } from "../store/trusted_file.ts";
import { errorMessage } from "../error_message.ts";

/** What validation found. */
export interface ValidatedConfig {
  /** The config, when it has no error. */
  config?: Config;
  /** `FILE:LINE:COL: error|warning: message` lines (`FILE: error: ...` for whole-file ones). */
  problems: string[];
  /** Whether any problem is an error. */
  failed: boolean;
}

/** Validates the config at `file` exactly as `run` does before starting. */
export async function validateConfigFile(file: string): Promise<ValidatedConfig> {
  const loaded = await loadConfig(file);
  const problems = formatProblems(file, loaded);
  const config = loaded.config;
  if (!config) return { problems, failed: true };
  const errors: string[] = [];
  for (const o of config.outputs) {
    try {
      await createOutput(o).close();
    } catch (e) {
      errors.push(`output ${o.type}: ${errorMessage(e)}`);
    }
  }
  for (const f of databaseFiles(config.database)) {
    errors.push(...trustProblems(f, { what: "database" }));
  }
  errors.push(...trustProblems(config.keyFile, { what: "key file", secret: true }));
  for (const o of config.outputs) {
    if (o.type === "file") errors.push(...trustProblems(o.path, { what: "file output" }));
  }
  const unique = [...new Set(errors)];
  return {
    config: unique.length ? undefined : config,
    problems: [...unique.map((e) => `${file}: error: ${e}`), ...problems],
    failed: unique.length > 0,
  };
}

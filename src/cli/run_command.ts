/**
 * `bpfink run --config FILE`: the daemon.
 *
 * @module
 */
import { Agent } from "../agent/agent.ts";
import { AgentError } from "../agent/agent_error.ts";
import type { Config } from "../config/config_types.ts";
import { formatProblems, loadConfig } from "../config/load_config.ts";
import { log, setupLogging } from "../log.ts";
import { JsonLinesOutput } from "../outputs/json_lines.ts";
import type { Output } from "../outputs/output.ts";
import { TerminalOutput } from "../outputs/terminal.ts";
import { waitForTermination } from "./signals.ts";
import { parseStrategy } from "./watch_command.ts";

/** Options of the run command. */
export interface RunCommandOptions {
  config: string;
  probe?: string;
  btf?: string;
  libbpf?: string;
}

/** Builds the configured outputs. */
export function outputsFor(config: Config): Output[] {
  return config.outputs.map((o) => {
    if (o.type === "stdout") {
      return o.format === "text" ? new TerminalOutput() : new JsonLinesOutput();
    }
    throw new AgentError(`output type ${o.type} is not available in this build`);
  });
}

/** Runs the daemon until SIGINT/SIGTERM; returns the exit code. */
export async function runCommand(opts: RunCommandOptions): Promise<number> {
  const loaded = await loadConfig(opts.config);
  const problems = formatProblems(opts.config, loaded);
  if (!loaded.config) throw new AgentError(`invalid config:\n${problems.join("\n")}`, 2);
  const config = loaded.config;
  setupLogging({ level: config.logLevel, json: true });
  for (const p of problems) log("config").warn(p);
  const agent = await Agent.start({
    watches: config.watches,
    outputs: outputsFor(config),
    database: config.database,
    keyFile: config.keyFile,
    reconcileIntervalMs: config.reconcileIntervalMs,
    force: parseStrategy(opts.probe ?? config.strategy),
    btf: opts.btf,
    libbpf: opts.libbpf,
  });
  log().info(`running: ${agent.kernel.spec.name}, ${agent.watch.present} paths watched`);
  const outcome = await Promise.race([
    waitForTermination().then(() => undefined),
    agent.done.then(() => new Error("event polling stopped"), (e) => e),
  ]);
  await agent.stop();
  if (outcome) {
    log().error(`stopped: ${outcome instanceof Error ? outcome.message : outcome}`);
    return 1;
  }
  return 0;
}

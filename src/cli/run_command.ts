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
import type { Output } from "../outputs/output.ts";
import { createOutput } from "../outputs/output_factory.ts";
import { FileOutput } from "../outputs/file_output.ts";
import { EventHistory } from "../outputs/event_history.ts";
import { GraphitePusher } from "../metrics/graphite_push.ts";
import { servePrometheus } from "../metrics/prometheus_endpoint.ts";
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
    try {
      return createOutput(o);
    } catch (e) {
      throw new AgentError(`output ${o.type}: ${e instanceof Error ? e.message : e}`, 2);
    }
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
    // The history behind `bpfink events` and `bpfink status`, in the same database.
    outputs: [...outputsFor(config), new EventHistory(config.database)],
    database: config.database,
    keyFile: config.keyFile,
    reconcileIntervalMs: config.reconcileIntervalMs,
    force: parseStrategy(opts.probe ?? config.strategy),
    btf: opts.btf,
    libbpf: opts.libbpf,
  });
  log().info(`running: ${agent.kernel.spec.name}, ${agent.watch.present} paths watched`);
  const prom = config.metrics.prometheus
    ? servePrometheus(agent.metrics, config.metrics.prometheus.listen)
    : undefined;
  if (prom) {
    log("metrics").info(
      `prometheus metrics on ${
        config.metrics.prometheus!.listen.replace(/:0$/, ":" + prom.port)
      }/metrics`,
    );
  }
  const g = config.metrics.graphite;
  const graphite = g
    ? new GraphitePusher(agent.metrics, g.address, g.prefix, g.intervalMs)
    : undefined;
  // SIGHUP: logrotate moved the files away; reopen them.
  const onHup = () => {
    for (const o of agent.opts.outputs) if (o instanceof FileOutput) o.reopen();
  };
  Deno.addSignalListener("SIGHUP", onHup);
  const outcome = await Promise.race([
    waitForTermination().then(() => undefined),
    agent.done.then(() => new Error("event polling stopped"), (e) => e),
  ]);
  Deno.removeSignalListener("SIGHUP", onHup);
  await graphite?.push();
  graphite?.close();
  await prom?.close();
  await agent.stop();
  if (outcome) {
    log().error(`stopped: ${outcome instanceof Error ? outcome.message : outcome}`);
    return 1;
  }
  return 0;
}

/**
 * `bpfink run --config FILE`: the daemon.
 *
 * @module
 */
import { Agent } from "../agent/agent.ts";
import { VERSION } from "../version.ts";
import { AgentError } from "../agent/agent_error.ts";
import type { Config } from "../config/config_types.ts";
import { validateConfigFile } from "../config/validate_config.ts";
import { log, setupLogging } from "../log.ts";
import type { Output } from "../outputs/output.ts";
import { createOutput } from "../outputs/output_factory.ts";
import { EventHistory } from "../outputs/event_history.ts";
import { GraphitePusher } from "../metrics/graphite_push.ts";
import { servePrometheusRetrying } from "../metrics/prometheus_endpoint.ts";
import { containStrayErrors } from "../agent/failure_policy.ts";
import { terminationSignal, unlessTerminated, waitForTermination } from "./signals.ts";
import { parseStrategy } from "./watch_command.ts";
import { errorMessage } from "../error_message.ts";

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
      throw new AgentError(`output ${o.type}: ${errorMessage(e)}`, 2);
    }
  });
}

/** Runs the daemon until SIGINT/SIGTERM; returns the exit code. */
export async function runCommand(opts: RunCommandOptions): Promise<number> {
  const { config, problems } = await validateConfigFile(opts.config);
  if (!config) throw new AgentError(`invalid config:\n${problems.join("\n")}`, 2);
  setupLogging({ level: config.logLevel, json: true });
  for (const p of problems) log("config").warn(p);
  log().info(`starting bpfink ${VERSION} (pid ${Deno.pid}) with ${opts.config}`);
  const agent = await unlessTerminated((signal) =>
    Agent.start({
      signal,
      soleAgent: true,
      watches: config.watches,
      // The history behind `bpfink events` and `bpfink status`, in the same database.
      outputs: [
        ...outputsFor(config),
        new EventHistory(config.database, { maxBytes: config.historyMaxBytes }),
      ],
      database: config.database,
      outboxMaxBytes: config.outboxMaxBytes,
      userTextMaxBytes: config.userTextMaxBytes,
      keyFile: config.keyFile,
      reconcileIntervalMs: config.reconcileIntervalMs,
      selfTestIntervalMs: config.selfTestIntervalMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      maxWatches: config.maxWatches,
      force: parseStrategy(opts.probe ?? config.strategy),
      btf: opts.btf,
      libbpf: opts.libbpf,
    })
  );
  if (!agent) {
    log().info(`stopped by ${terminationSignal()} during startup: nothing left attached`);
    return 0;
  }
  log().info(
    `started (pid ${Deno.pid}): ${agent.kernel.spec.name}, ${agent.watch.present} paths watched`,
  );
  const uncontain = containStrayErrors(agent.faults);
  const prom = config.metrics.prometheus
    ? servePrometheusRetrying(agent.metrics, config.metrics.prometheus.listen, agent.faults)
    : undefined;
  prom?.bound.then((p) => log("metrics").info(`prometheus metrics on ${p.url}`));
  const g = config.metrics.graphite;
  const graphite = g
    ? new GraphitePusher(agent.metrics, g.address, g.prefix, g.intervalMs)
    : undefined;
  // SIGHUP: logrotate moved the files away; reopen them (the config is not read again).
  const onHup = () => {
    const files = agent.reopenOutputs();
    log().info(
      `SIGHUP: reopened ${files.length ? files.join(", ") : "no file outputs"} ` +
        `(each new file starts with the start record); the config is not reloaded: ` +
        `restart bpfink to apply config changes`,
    );
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
  uncontain();
  if (outcome) {
    log().error(`stopped: ${errorMessage(outcome)}`);
    return 1;
  }
  log().info(`stopped by ${terminationSignal()}: every program detached, outputs flushed`);
  return 0;
}

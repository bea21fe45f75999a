/**
 * `bpfink --paths P1,P2,...`: watch files live in a terminal, or as JSON lines.
 *
 * @module
 */
import { isStrategyName, type StrategyName } from "../../kernels/strategies.ts";
import { Agent, watchesForPaths } from "../agent/agent.ts";
import { VERSION } from "../version.ts";
import { AgentError } from "../agent/agent_error.ts";
import { containStrayErrors } from "../agent/failure_policy.ts";
import { log } from "../log.ts";
import { JsonLinesOutput } from "../outputs/json_lines.ts";
import { TerminalOutput } from "../outputs/terminal.ts";
import { progressBar } from "./progress.ts";
import { terminateOn, unlessTerminated, waitForTermination } from "./signals.ts";
import { errorMessage } from "../error_message.ts";

/** Options of the watch command. */
export interface WatchCommandOptions {
  paths: string;
  json?: boolean;
  probe?: string;
  btf?: string;
  libbpf?: string;
  settleMs?: string;
  recursive?: boolean;
}

/** Parses `--probe`. */
export function parseStrategy(s: string | undefined): StrategyName | undefined {
  if (s === undefined) return undefined;
  if (!isStrategyName(s)) {
    throw new AgentError(`--probe takes fentry, kprobe or tracepoint, not "${s}"`, 2);
  }
  return s;
}

/** Splits `--paths` (comma separated; empty items ignored). */
export function parsePaths(s: string): string[] {
  return s.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Runs the watch until SIGINT/SIGTERM; returns the exit code. */
export async function watchCommand(opts: WatchCommandOptions): Promise<number> {
  // A terminal that closes sends SIGHUP: a clean stop, as Ctrl-C.
  terminateOn("SIGHUP");
  const paths = parsePaths(opts.paths);
  if (paths.length === 0) throw new AgentError("--paths needs at least one path", 2);
  const settleMs = opts.settleMs === undefined ? undefined : Number(opts.settleMs);
  if (settleMs !== undefined && !(settleMs >= 0)) {
    throw new AgentError("--settle-ms takes a number of milliseconds", 2);
  }
  const output = opts.json ? new JsonLinesOutput() : new TerminalOutput();
  const agent = await unlessTerminated((signal) =>
    Agent.start({
      signal,
      soleAgent: true,
      watches: watchesForPaths(paths, opts.recursive),
      outputs: [output],
      force: parseStrategy(opts.probe),
      btf: opts.btf,
      libbpf: opts.libbpf,
      settleMs,
      onProgress: progressBar(),
    })
  );
  if (!agent) return 0;
  const uncontain = containStrayErrors(agent.faults);
  // Whatever ends the watch, the agent stops: its links, its threads, its temporary database.
  try {
    if (!opts.json) writeHeader(agent);
    const outcome = await Promise.race([
      waitForTermination().then((s) => ({ signal: s, error: undefined as unknown })),
      agent.done.then(
        () => ({ signal: undefined, error: new Error("event polling stopped") }),
        (e) => ({
          signal: undefined,
          error: e,
        }),
      ),
    ]);
    if (outcome.error) {
      log().error(
        `stopped: ${errorMessage(outcome.error)}`,
      );
      return 1;
    }
    return 0;
  } finally {
    await agent.stop();
    uncontain();
  }
}

/**
 * The line that says what is watched, on stderr. A stderr that cannot take it (a pipe closed
 * by `| head`) does not end the watch; its write used to throw past the agent's stop, which
 * left the temporary database behind.
 */
function writeHeader(agent: Agent): void {
  const k = agent.kernel.spec;
  const header = `bpfink ${VERSION} · kernel ${agent.facts.release} · ${k.name} (${k.object}) · ` +
    `watching ${agent.watch.present} paths · Ctrl-C to stop`;
  const color = Deno.stderr.isTerminal() && !Deno.env.get("NO_COLOR");
  try {
    Deno.stderr.writeSync(
      new TextEncoder().encode((color ? `\x1b[1m${header}\x1b[0m` : header) + "\n"),
    );
  } catch {
    /* stderr is gone: nothing to tell it */
  }
}

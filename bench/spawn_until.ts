/**
 * Starting a tool for a measurement: spawn it, wait until it says it is
 * ready, and stop it afterwards.
 *
 * @module
 */

/** A running tool: its pid (CPU and RSS are read from it) and how to stop it. */
export interface Running {
  pid: number;
  stop(): Promise<void>;
}

/** How {@link spawnUntil} starts and stops a tool. */
export interface SpawnOptions {
  cwd?: string;
  /** Without a `ready` marker, how long to let it settle (ms). Default 2000. */
  settleMs?: number;
  /** How it is stopped. Default SIGINT. */
  stopSignal?: Deno.Signal;
}

/**
 * Spawns `cmd` and waits until `ready` shows in its output (or `settleMs`
 * without a marker); throws, with what it printed, when it exits first.
 */
export async function spawnUntil(
  cmd: string[],
  ready?: RegExp,
  opts: SpawnOptions = {},
): Promise<Running> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let seen = "";
  let isReady!: () => void;
  const readyP = new Promise<void>((r) => (isReady = r));
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      if (seen.length < 65536) seen += chunk;
      if (ready?.test(seen)) isReady();
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const died = child.status.then((s) => {
    throw new Error(
      `${cmd.join(" ")} exited ${s.code} before it was ready:\n${seen.slice(0, 2000)}`,
    );
  });
  const stop = async () => {
    try {
      child.kill(opts.stopSignal ?? "SIGINT");
    } catch { /* already gone */ }
    await child.status;
    await drained;
  };
  try {
    await Promise.race([
      ready ? readyP : new Promise((r) => setTimeout(r, opts.settleMs ?? 2000)),
      died,
    ]);
  } catch (e) {
    await stop();
    throw e;
  } finally {
    died.catch(() => {});
  }
  return { pid: child.pid, stop };
}

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
  /** How many lines of its output matched {@link SpawnOptions.count} so far. */
  counted?(): number;
  /** The start of what it printed (its first 64 KiB, stdout and stderr). */
  output?(): string;
}

/** How {@link spawnUntil} starts and stops a tool. */
export interface SpawnOptions {
  cwd?: string;
  /** Without a `ready` marker, how long to let it settle (ms). Default 2000. */
  settleMs?: number;
  /** How it is stopped. Default SIGINT. */
  stopSignal?: Deno.Signal;
  /** Added to the inherited environment (NO_COLOR=1 always is). */
  env?: Record<string, string>;
  /** Gives up (stops it and throws) when not ready by then (ms). Default: waits. */
  timeoutMs?: number;
  /** Lines of its output (stdout or stderr) to count, e.g. its reports of a file. */
  count?: RegExp;
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
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
  let seen = "";
  let isReady!: () => void;
  const readyP = new Promise<void>((r) => (isReady = r));
  let counted = 0;
  const drain = async (s: ReadableStream<Uint8Array>) => {
    let partial = "";
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      if (seen.length < 65536) seen += chunk;
      if (ready?.test(seen)) isReady();
      if (!opts.count) continue;
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      counted += lines.filter((l) => opts.count!.test(l)).length;
    }
    if (opts.count?.test(partial)) counted++;
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const died = child.status.then(async (s) => {
    // What it printed last (why it stopped) may still be in the pipes.
    await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    if (opts.timeoutMs === undefined) return;
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `${cmd.join(" ")} was not ready after ${opts.timeoutMs} ms:\n${seen.slice(0, 2000)}`,
          ),
        ),
      opts.timeoutMs,
    );
  });
  try {
    await Promise.race([
      ready ? readyP : new Promise((r) => setTimeout(r, opts.settleMs ?? 2000)),
      died,
      late,
    ]);
  } catch (e) {
    await stop();
    throw e;
  } finally {
    clearTimeout(timer);
    died.catch(() => {});
  }
  return {
    pid: child.pid,
    stop,
    counted: opts.count ? () => counted : undefined,
    output: () => seen,
  };
}

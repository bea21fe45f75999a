/**
 * Real services for the output and metrics tests, run as child processes on
 * 127.0.0.1 with temp config and free ports, and stopped after.
 *
 * @module
 */

/**
 * A port `open` can bind and let go of, below the kernel's ephemeral range
 * (32768-60999 here): a port the kernel hands out for port 0 is one it also
 * hands to any connect() meanwhile, so another test's client could take it
 * before the server that was to listen on it does (CI: carbon's second port,
 * "Address already in use").
 */
function freeBelowEphemeral(open: (port: number) => { close(): void }): number {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      open(port).close();
      return port;
    } catch { /* taken: another */ }
  }
  throw new Error("no free port between 20000 and 32000");
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  return freeBelowEphemeral((port) => Deno.listen({ hostname: "127.0.0.1", port }));
}

/** A free UDP port on 127.0.0.1 (bound, then released). */
export function freeUdpPort(): number {
  return freeBelowEphemeral((port) =>
    Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port })
  );
}

/** Whether `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** A started child process: its output is kept for error messages; stopped on dispose. */
export class Service implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** stdout and stderr so far. */
  output = "";
  #exited = false;
  #pumps: Promise<void>[];

  constructor(readonly cmd: string[], env?: Record<string, string>) {
    this.child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    this.child.status.then(() => (this.#exited = true));
    this.#pumps = [this.child.stdout, this.child.stderr].map(async (s) => {
      for await (const c of s.pipeThrough(new TextDecoderStream())) this.output += c;
    });
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Stops the process: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.#exited) {
      try {
        this.child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, graceMs);
      await this.child.status;
      clearTimeout(timer);
    }
    await Promise.all(this.#pumps);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** An error that shows what the process printed. */
  fail(what: string): Error {
    return new Error(`${what}\n--- ${this.cmd.join(" ")} ---\n${this.output.slice(-4000)}`);
  }
}

/** Waits until a TCP port on 127.0.0.1 accepts connections; fails early if `service` exits. */
export async function waitForPort(port: number, ms = 15_000, service?: Service): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (service?.exited) throw service.fail(`exited before listening on 127.0.0.1:${port}`);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const msg = `nothing listens on 127.0.0.1:${port} after ${ms} ms`;
  throw service ? service.fail(msg) : new Error(msg);
}

/** Polls `pred` (which may be async) every `stepMs` until it returns a value or `ms` passes. */
export async function poll<T>(
  pred: () => T | undefined | Promise<T | undefined>,
  ms: number,
  stepMs = 100,
): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= end) return undefined;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

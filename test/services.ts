/**
 * Real services for output tests, started on 127.0.0.1 with temp config and
 * free ports, and stopped after: rsyslogd, prometheus, carbon-cache.
 *
 * @module
 */

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A started child process that is killed on dispose. */
export class Service implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  constructor(cmd: string[], env?: Record<string, string>) {
    this.child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdout: "null",
      stderr: "null",
      env,
    }).spawn();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.child.status;
  }
}

/** Waits until a TCP port accepts connections. */
export async function waitForPort(port: number, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/**
 * Helpers for the fault-injection tests: processes run as `nobody` through
 * setpriv, and the check that no stack trace reached the user.
 *
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { run } from "../helpers.ts";

/** A process running as nobody:nogroup (setpriv), killed on dispose. */
export function spawnAsNobody(
  cmd: string[],
  opts: { cwd?: string } = {},
): Deno.ChildProcess & AsyncDisposable {
  const child = new Deno.Command("setpriv", {
    args: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", ...cmd],
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return Object.assign(child, {
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
    },
  });
}

/** Runs a command as nobody to completion; returns its exit code and output. */
export async function runAsNobody(cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("setpriv", {
    args: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", ...cmd],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** Overwrites the first page of the database at `path` with random bytes, in place (the audit's dd). */
export async function corruptFirstPage(path: string): Promise<void> {
  const dd = await run([
    "dd",
    "if=/dev/urandom",
    `of=${path}`,
    "bs=4096",
    "count=1",
    "conv=notrunc",
  ]);
  assertEquals(dd.code, 0, dd.stderr);
}

/**
 * A daemon's config text watching `watched`, its state under `dir`, with a
 * JSON stdout output and an ndjson HTTP output to 127.0.0.1:`port`.
 */
export function httpDaemonConfig(
  dir: string,
  watched: string,
  port: number,
  http: { maxRetries: number; flushInterval: string },
): string {
  return `watches:\n  - ${watched}\ndatabase: ${dir}/state/bpfink.db\nkey_file: ${dir}/state/k\n` +
    `log_level: info\nstrategy: tracepoint\noutputs:\n  - type: stdout\n    format: json\n` +
    `  - type: http\n    url: http://127.0.0.1:${port}/ingest\n    format: ndjson\n` +
    `    max_retries: ${http.maxRetries}\n    flush_interval: ${http.flushInterval}\n`;
}

/** Fails when `text` holds a stack trace or an uncaught error report. */
export function assertNoStackTrace(text: string): void {
  assert(!/Uncaught|^\s+at .+[:(]/m.test(text), `a stack trace reached the user:\n${text}`);
}

/** A TCP listener held by nobody on 127.0.0.1:`port` (python3), until disposed. */
export async function portHeldByNobody(port: number): Promise<AsyncDisposable & { pid: number }> {
  const child = spawnAsNobody([
    "/usr/bin/python3",
    "-c",
    `import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",${port}))\ns.listen()\n` +
    `print("bound",flush=True)\ntime.sleep(600)`,
  ]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  reader.releaseLock();
  assert(first.value?.includes("bound"), `nobody could not bind ${port}`);
  return { pid: child.pid, [Symbol.asyncDispose]: () => child[Symbol.asyncDispose]() };
}

/** Collects a piped child's stdout and stderr as text; `done` settles when both streams end. */
export function collect(child: Deno.ChildProcess) {
  const out = { stdout: "", stderr: "" };
  const done = Promise.all([
    (async () => {
      for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out.stdout += c;
    })(),
    (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) out.stderr += c;
    })(),
  ]);
  return { out, done };
}

/** A tmpfs of `size` mounted on a new directory in `parent`, unmounted on dispose. */
export async function smallTmpfs(parent: string, size: string) {
  const path = `${parent}/out`;
  await Deno.mkdir(path);
  const m = await run(["mount", "-t", "tmpfs", "-o", `size=${size},mode=700`, "tmpfs", path]);
  assertEquals(m.code, 0, m.stderr);
  return {
    path,
    async [Symbol.asyncDispose]() {
      const u = await run(["umount", path]);
      assertEquals(u.code, 0, u.stderr);
    },
  };
}

/**
 * A `bpfink run --config` child process for tests: its JSON lines are
 * collected as they arrive, its stderr (the agent's log) is kept.
 *
 * @module
 */
import { assert } from "./assert.ts";
import { START_TIMEOUT_MS, waitFor } from "./helpers.ts";
import { checkEvent } from "./ecs_validate.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { errorMessage } from "../src/error_message.ts";

/**
 * Writes `dir/config.yaml`: `watches` (YAML list items, each line as it goes
 * under `watches:`), the state in `dir/state`, JSON lines on stdout.
 * Returns its path.
 */
export async function daemonConfig(dir: string, watches: string[]): Promise<string> {
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n${watches.map((w) => `  ${w}\n`).join("")}database: ${dir}/state/db.sqlite\n` +
      `key_file: ${dir}/state/hmac.key\nlog_level: info\noutputs:\n  - type: stdout\n    format: json\n`,
  );
  return config;
}

/** A daemon child whose JSON lines are collected as they arrive. */
export class Daemon {
  readonly #events: ChangeEvent[] = [];
  readonly #invalid: string[] = [];
  readonly child: Deno.ChildProcess;
  stderr = "";
  #reading: Promise<void>;

  /**
   * Starts `./bpfink run --config config`, with `env` added to this
   * process's environment; `wrap` runs it under another command (e.g.
   * `["unshare", "-m", "--"]`).
   */
  constructor(config: string, env?: Record<string, string>, wrap: string[] = []) {
    const argv = [...wrap, "./bpfink", "run", "--config", config];
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#reading = (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const e = JSON.parse(buf.slice(0, i));
          try {
            checkEvent(e, "a JSON line of bpfink run");
          } catch (err) {
            this.#invalid.push(errorMessage(err));
          }
          this.#events.push(e);
          buf = buf.slice(i + 1);
        }
      }
    })();
    (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) this.stderr += c;
    })();
  }

  /** Every JSON line so far (throws when one was not valid ECS / bpfink schema). */
  get events(): ChangeEvent[] {
    if (this.#invalid.length) throw new Error(this.#invalid[0]);
    return this.#events;
  }

  async started(): Promise<void> {
    const ok = await waitFor(
      () => this.events.some((e) => e.event.action === "started"),
      START_TIMEOUT_MS,
    );
    assert(ok, `daemon did not start: ${this.stderr}`);
  }

  changes(): ChangeEvent[] {
    return this.events.filter((e) => e.event.action !== "started");
  }

  /** The first change `pred` matches, waited for; fails naming `what` and what came instead. */
  async expect(
    pred: (e: ChangeEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<ChangeEvent> {
    const ok = await waitFor(() => this.changes().some(pred), timeoutMs);
    assert(ok, `${what} not reported; got:\n${this.changes().map((e) => e.message).join("\n")}`);
    return this.changes().find(pred)!;
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    this.child.kill(signal);
    const s = await this.child.status;
    await this.#reading;
    return s.code;
  }
}

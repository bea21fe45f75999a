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

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    this.child.kill(signal);
    const s = await this.child.status;
    await this.#reading;
    return s.code;
  }
}

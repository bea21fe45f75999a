/**
 * bpfink's one failure policy, in one place:
 *
 * - Nothing reaches a person as a stack trace. A fault that stops monitoring
 *   is one sentence on stderr and a documented exit code (`EXIT`).
 * - A fault in an accessory (the metrics endpoint, one output, the
 *   database) never stops monitoring: it is logged once when it starts and
 *   once when it ends, counted in `bpfink_accessory_faults_total{part}`,
 *   shown in `bpfink_accessory_failing{part}` while it lasts, and the part
 *   retries on its own.
 * - An error nobody caught inside the running daemon is such a fault too
 *   (part `internal`): logged in one line, counted, and monitoring goes on.
 *
 * @module
 */
import { log } from "../log.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { AgentError } from "./agent_error.ts";
import { errorMessage } from "../error_message.ts";

/** Exit codes, as `bpfink --help` documents them. */
export const EXIT = {
  /** Stopped by SIGINT or SIGTERM, or the command succeeded. */
  ok: 0,
  /** bpfink cannot run here (not root, no BTF, no kernel object, untrusted state files...). */
  cannotRun: 1,
  /** Usage error, invalid config, or none of the paths exist. */
  usage: 2,
} as const;

/** The first line of an error's message, without the stack. */
export function oneLine(e: unknown): string {
  const msg = errorMessage(e);
  return msg.split("\n")[0].trim() || (e instanceof Error ? e.name : "unknown error");
}

/**
 * What a person sees for an error that ends the command, and the exit code.
 * An `AgentError` is already a sentence; anything else is a bug or an
 * unforeseen fault, reported in one line (the stack only with BPFINK_DEBUG=1).
 */
export function describeFatal(e: unknown): { message: string; exitCode: number } {
  if (e instanceof AgentError) return { message: e.message, exitCode: e.exitCode };
  const debug = Deno.env.get("BPFINK_DEBUG") === "1" && e instanceof Error && e.stack;
  return {
    message: `internal error: ${oneLine(e)}` + (debug ? `\n${e.stack}` : ""),
    exitCode: EXIT.cannotRun,
  };
}

/** The accessory faults of a running agent: log lines and metrics, one state per part. */
export class FaultBoard {
  readonly #failing = new Map<string, string>();
  readonly #total = new Map<string, number>();

  constructor(registry?: MetricsRegistry) {
    registry?.add({
      name: "bpfink_accessory_faults_total",
      help:
        "Faults in accessories (metrics endpoint, outputs, database) that did not stop monitoring.",
      type: "counter",
      collect: () => [...this.#total].map(([part, value]) => ({ labels: { part }, value })),
    });
    registry?.add({
      name: "bpfink_accessory_failing",
      help: "1 while an accessory is failing (it retries on its own), 0 once it works again.",
      type: "gauge",
      collect: () =>
        [...this.#total.keys()].map((part) => ({
          labels: { part },
          value: this.#failing.has(part) ? 1 : 0,
        })),
    });
  }

  /**
   * `part` failed with `error`; `consequence` says what monitoring does
   * meanwhile. Logged as a warning when the fault starts (not on every retry).
   */
  fault(part: string, error: unknown, consequence: string): void {
    const why = oneLine(error);
    if (!this.#failing.has(part)) {
      this.#total.set(part, (this.#total.get(part) ?? 0) + 1);
      log("fault").warn(`${part}: ${why}; ${consequence}`);
    }
    this.#failing.set(part, why);
  }

  /** `part` works again. */
  recovered(part: string, what = "works again"): void {
    if (!this.#failing.delete(part)) return;
    log("fault").info(`${part}: ${what}`);
  }

  /** Whether `part` is failing now. */
  failing(part: string): boolean {
    return this.#failing.has(part);
  }

  /** Faults counted so far for `part`. */
  count(part: string): number {
    return this.#total.get(part) ?? 0;
  }
}

/**
 * Keeps a running daemon alive through errors nobody caught: each becomes
 * one log line and an `internal` fault instead of a crash with a stack
 * trace. Returns a function that removes the handlers.
 */
export function containStrayErrors(board: FaultBoard): () => void {
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    board.fault("internal", e.reason, "monitoring goes on");
    board.recovered("internal", "the error above was contained");
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    board.fault("internal", e.error ?? e.message, "monitoring goes on");
    board.recovered("internal", "the error above was contained");
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}

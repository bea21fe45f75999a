/**
 * Tamper evidence: a periodic self-test through the live path, and a
 * heartbeat. Someone with root can detach bpfink's programs or take inodes
 * out of its kernel map; the self-test notices and says so:
 *
 * - a canary write in a private directory must come back from the kernel
 *   object through the ring buffer within `timeoutMs`;
 * - every watched inode must still be in the kernel's watch map;
 * - the kernel's mark gate must say what the agent set (open, it skips
 *   inodes with no fsnotify mark: opened by someone else while a watched
 *   inode has none, it would blind that inode).
 *
 * What it finds goes to `onFailure` (the agent's `self_test_failed` event);
 * then it repairs what it can (puts the inodes back, attaches the programs
 * again) and tries the canary once more. Metrics say when the last test
 * passed and how many failed.
 *
 * @module
 */
import type { FimKernel } from "../kernel/fim_kernel.ts";
import type { FimEvent } from "../kernel/fim_event.ts";
import { log } from "../log.ts";
import { type MetricsRegistry, Pulled } from "../metrics/metrics_registry.ts";
import type { WatchSet } from "../watch/watch_set.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { FimWatch } from "../kernel/fim_event.ts";

/** What one self-test found wrong (empty when it passed). */
export interface SelfTestFindings {
  /** One sentence per problem. */
  problems: string[];
  /** What was repaired. */
  repaired: string[];
  /** Whether the canary passed after the repair. */
  recovered: boolean;
}

/** How the self-test runs. */
export interface SelfTestOptions {
  kernel: FimKernel;
  watch: WatchSet;
  /** How long a canary write may take to come back (ms). Default 2000. */
  timeoutMs?: number;
  /** Called when a test failed, after the repair. */
  onFailure(found: SelfTestFindings): void;
}

/** Runs self-tests on demand or on an interval; the agent routes kernel events through `tap`. */
export class SelfTest {
  readonly #opts: SelfTestOptions;
  #canaryIno?: bigint;
  #seen: (() => void) | undefined;
  #running?: Promise<SelfTestFindings>;
  #timer?: ReturnType<typeof setInterval>;
  /** When the last test passed (ms since the epoch), 0 before the first. */
  lastPass = 0;
  /** Tests that failed. */
  failures = 0;

  constructor(opts: SelfTestOptions) {
    this.#opts = opts;
  }

  /** Registers `bpfink_self_test_*` metrics. */
  register(registry: MetricsRegistry): void {
    registry.add(
      new Pulled(
        "bpfink_self_test_last_success_timestamp_seconds",
        "When the last self-test (canary write through the kernel object, watch map intact) passed.",
        "gauge",
        () => this.lastPass / 1000,
      ),
    );
    registry.add(
      new Pulled(
        "bpfink_self_test_failures_total",
        "Self-tests that found the live path broken or the watch map tampered with.",
        "counter",
        () => this.failures,
      ),
    );
  }

  /** Sees every kernel event first; returns true when it was the canary's (not a watched file's). */
  tap(e: FimEvent): boolean {
    if (this.#canaryIno === undefined || e.ino !== this.#canaryIno || e.tgid !== Deno.pid) {
      return false;
    }
    this.#seen?.();
    return true;
  }

  /** Runs a test every `intervalMs`. */
  every(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.run().catch((e) => log("self-test").warn(`self-test could not run: ${e}`));
    }, intervalMs);
  }

  /** Runs one test now (one at a time). */
  run(): Promise<SelfTestFindings> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #run(): Promise<SelfTestFindings> {
    const problems: string[] = [];
    const repaired: string[] = [];
    const { kernel, watch } = this.#opts;
    const missing = watch.entries().filter((e) => e.exists && !kernel.isWatched(e.id!));
    if (missing.length) {
      problems.push(
        `${missing.length} watched inodes were missing from the kernel's watch map ` +
          `(${missing.slice(0, 5).map((e) => e.path).join(", ")}${
            missing.length > 5 ? ", ..." : ""
          })`,
      );
      for (const e of missing) watch.restoreInode(e.id!);
      repaired.push(`put ${missing.length} inodes back in the watch map`);
    }
    if (!kernel.gate.keptInKernel()) {
      problems.push(
        `the kernel's mark gate was ${kernel.gate.on ? "shut" : "opened"} by someone else` +
          (kernel.gate.on
            ? ""
            : " (writes to watched inodes without a fanotify mark were skipped)"),
      );
      repaired.push(`set the mark gate ${kernel.gate.on ? "open" : "shut"} again`);
    }
    let canary = await this.#canary();
    if (!canary.ok) {
      problems.push(canary.why);
      const { again, kept } = kernel.reattach();
      if (again.length) repaired.push(`attached ${again.join(", ")} again`);
      if (kept.length) {
        repaired.push(`kept the links the kernel would not attach again: ${kept.join(", ")}`);
      }
      canary = await this.#canary();
    }
    const found = { problems, repaired, recovered: canary.ok };
    if (canary.ok) this.lastPass = Date.now();
    if (problems.length) {
      this.failures++;
      this.#opts.onFailure(found);
    }
    return found;
  }

  /** Writes to a private canary file and waits for the kernel to report it. */
  async #canary(): Promise<{ ok: true } | { ok: false; why: string }> {
    const { kernel } = this.#opts;
    const timeoutMs = this.#opts.timeoutMs ?? 2000;
    const dir = await Deno.makeTempDir({ prefix: "bpfink-selftest-" });
    const path = `${dir}/canary`;
    try {
      await Deno.writeTextFile(path, "canary\n");
      const id = kernelIdentity.inodeOf(path, await Deno.stat(path));
      this.#canaryIno = id.ino;
      kernel.watchInode(id, FimWatch.File);
      try {
        const seen = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), timeoutMs);
          this.#seen = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        await Deno.writeTextFile(path, "write\n", { append: true });
        if (await seen) return { ok: true };
        return {
          ok: false,
          why: `the kernel object did not report a canary write within ${timeoutMs} ms ` +
            `(programs detached, or events not delivered)`,
        };
      } finally {
        this.#seen = undefined;
        this.#canaryIno = undefined;
        kernel.unwatchInode(id);
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** Stops the interval (a test in progress finishes and cleans up). */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running?.catch(() => {});
  }
}

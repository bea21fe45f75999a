/**
 * What every benchmark needs: the load generator and the floor object built
 * into a temp dir, libbpf, the strategies that load here, and cleanup.
 *
 * @module
 */
import { DENO_RUN_FLAGS, RUNTIME_ENV } from "../src/runtime_flags.ts";
import { compileBpf } from "../kernels/compile_bpf.ts";
import { EMBEDDED_OBJECTS } from "../kernels/build/embedded.ts";
import type { StrategyName } from "../kernels/strategies.ts";
import { loadLibbpf } from "../src/agent/open_kernel.ts";
import { type BpfLink, BpfObject } from "../src/bpf/bpf_object.ts";
import type { FimEvent } from "../src/kernel/fim_event.ts";
import { FimKernel } from "../src/kernel/fim_kernel.ts";
import type { Libbpf } from "../src/bpf/libbpf.ts";
import { FanotifyGroup } from "../src/fanotify/fanotify_group.ts";
import { FanotifyFdGroup } from "../src/fanotify/fanotify_fd_group.ts";
import { FILE_MASK } from "../src/fanotify/fanotify_abi.ts";
import { kernelIdentity } from "../src/kernel/kernel_identity.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A loaded configuration to measure under; `close()` detaches it. */
export interface Attached {
  name: string;
  close(): Promise<void>;
  kernel?: FimKernel;
}

/** The benchmark environment. */
/** The empty programs of bench/bpf/floor.bpf.c: one per hook a strategy uses. */
export type FloorProgram =
  | "floor_tp_btf"
  | "floor_raw_tp"
  | "floor_fexit"
  | "floor_fexit_vfs"
  | "floor_kretprobe"
  | "floor_kretprobe_vfs"
  | "floor_kprobe_vfs";

export class BenchEnv implements AsyncDisposable {
  private constructor(
    readonly dir: string,
    readonly lib: Libbpf,
    readonly floorObject: Uint8Array,
  ) {}

  /**
   * Builds the load generator and the floor object, or takes them prebuilt from
   * `prebuilt` (`load` and `floor.bpf.o`: a guest kernel has no compiler).
   */
  static async create(prebuilt?: string): Promise<BenchEnv> {
    const dir = await Deno.makeTempDir({ prefix: "bpfink-bench-" });
    if (prebuilt) {
      await Deno.copyFile(`${prebuilt}/load`, `${dir}/load`);
      await Deno.chmod(`${dir}/load`, 0o755);
      return new BenchEnv(dir, loadLibbpf(), await Deno.readFile(`${prebuilt}/floor.bpf.o`));
    }
    await buildLoad(dir);
    const obj = `${dir}/floor.bpf.o`;
    await compileBpf(`${ROOT}bench/bpf/floor.bpf.c`, obj);
    return new BenchEnv(dir, loadLibbpf(), await Deno.readFile(obj));
  }

  /** The load generator (bench/c/load.c), for a caller that runs it in the background. */
  get loadPath(): string {
    return `${this.dir}/load`;
  }

  /** Runs the load generator; returns the number it prints. */
  load(...args: string[]): Promise<number> {
    return runLoad(`${this.dir}/load`, ...args);
  }

  /**
   * Marks `paths` with fanotify as the agent does (by file handle, else in a
   * classic group), so a kernel object may turn its mark gate on; `marked`
   * says whether every path took a mark. The marks last until close().
   */
  markFiles(paths: string[]): { marked: boolean; close(): Promise<void> } {
    const open = <G>(f: () => G): G | undefined => {
      try {
        return f();
      } catch {
        return undefined; // no fanotify of that kind here
      }
    };
    const fid = open(() => FanotifyGroup.open());
    let fd: FanotifyFdGroup | undefined;
    let marked = true;
    const tried = (f: () => unknown) => open(f) ?? false;
    for (const p of paths) {
      const id = kernelIdentity.inodeOf(p, Deno.statSync(p));
      // By file handle, else (no fsid, no export operations) in the classic group.
      if (fid && tried(() => fid.mark(p, id, FILE_MASK))) continue;
      fd ??= open(() => FanotifyFdGroup.open(() => {}));
      if (fd && tried(() => fd!.mark(p, id) !== undefined)) continue;
      marked = false;
    }
    return {
      marked,
      close: async () => void await Promise.all([fid?.close(), fd?.close()]),
    };
  }

  /** Attaches one or more of the floor's empty programs (bench/bpf/floor.bpf.c), together. */
  floor(programs: FloorProgram | readonly FloorProgram[]): Attached {
    const list: readonly FloorProgram[] = typeof programs === "string" ? [programs] : programs;
    const obj = BpfObject.open(this.lib, "floor", this.floorObject);
    const links: BpfLink[] = [];
    try {
      for (const p of list) obj.program(p).setAutoload(true);
      obj.load();
      for (const p of list) links.push(obj.program(p).attach());
    } catch (e) {
      for (const l of links) l.destroy();
      obj.close();
      throw e;
    }
    return {
      name: `floor: empty ${list.map((p) => p.slice(6)).join(" + ")}`,
      close: () => {
        for (const l of links) l.destroy();
        obj.close();
        return Promise.resolve();
      },
    };
  }

  /**
   * Loads a bpfink strategy (alternate programs on request), its ring read
   * on the main thread, or emptied by the native pump into a queue of
   * `ringQueueBytes` as the agent reads it (src/bpf/ring_pump.ts).
   */
  strategy(
    name: StrategyName,
    onEvent: (e: FimEvent) => void = () => {},
    alternate = false,
    ringQueueBytes = 0,
  ): Attached {
    const k = FimKernel.load(this.lib, name, EMBEDDED_OBJECTS[name], {
      onEvent,
      alternate,
      ringQueueBytes,
    });
    return {
      name: `bpfink ${name}${alternate ? " (raw_tp)" : ""}`,
      kernel: k,
      close: () => k.close(),
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** Median of numbers. */
/**
 * Deno running `script` (a file URL) with `args`, given the flags and
 * environment bpfink's runtime gets (src/runtime_flags.ts): a bench's agent
 * in a process of its own runs as ./bpfink runs it.
 */
export function shippedDeno(
  script: string,
  args: string[],
  opts: Omit<Deno.CommandOptions, "args"> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    ...opts,
    args: ["run", "-A", ...DENO_RUN_FLAGS, new URL(script).pathname, ...args],
    env: { ...RUNTIME_ENV, ...opts.env },
  });
}

/** Set in the child asShipped() runs; taken out of its environment at once. */
const AS_SHIPPED = "BPFINK_BENCH_AS_SHIPPED";

/**
 * Runs this bench again in a child given the flags and environment bpfink's
 * runtime gets (src/runtime_flags.ts), unless this is that child, and exits
 * with the child's status: an agent the bench starts in its own process then
 * runs as ./bpfink runs it. Returns only in the child.
 */
export async function asShipped(): Promise<void> {
  if (Deno.env.get(AS_SHIPPED) === "1") {
    Deno.env.delete(AS_SHIPPED);
    return;
  }
  const child = shippedDeno(Deno.mainModule, Deno.args, { env: { [AS_SHIPPED]: "1" } }).spawn();
  Deno.exit((await child.status).code);
}

/** Builds the load generator (bench/c/load.c) as `dir`/load; returns its path. */
export async function buildLoad(dir: string): Promise<string> {
  const load = `${dir}/load`;
  const cc = await new Deno.Command("gcc", {
    args: ["-O2", "-o", load, `${ROOT}bench/c/load.c`],
  }).output();
  if (!cc.success) throw new Error(`gcc failed: ${new TextDecoder().decode(cc.stderr)}`);
  return load;
}

/** Runs the load generator at `load` with `args`; returns the number it prints. */
export async function runLoad(load: string, ...args: string[]): Promise<number> {
  const out = await new Deno.Command(load, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`load ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** A memory field of `/proc/PID/status` (VmRSS, VmHWM, RssAnon, ...) in bytes; NaN when absent. */
export function procStatusBytes(pid: number | "self", field: string): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Percentile (0-100) of numbers. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** A Markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

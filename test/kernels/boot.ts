/**
 * Boots a guest kernel under qemu (software emulation, `-accel tcg`) with an
 * initramfs from initramfs.ts, captures the serial console to a log file, and
 * turns the init's marker lines into a pass, fail or skipped result. Also
 * runs a list of (kernel, image) jobs two at a time.
 *
 * @module
 */
import { dirname } from "node:path";
import type { GuestKernel } from "../../kernels/guests.ts";
import { DEFAULT_CACHE_DIR, fetchKernel, type FetchOptions, type FetchResult } from "./fetch.ts";
import { parseConsole } from "./guest_init.ts";
import { type Initramfs, memoryForImage } from "./initramfs.ts";

/** The outcome of one guest run. */
export interface BootResult {
  /** Guest kernel id (`6.1`). */
  kernel: string;
  status: "pass" | "fail" | "skipped";
  /** Why it failed or was skipped; empty on pass. */
  reason: string;
  /** Path of the serial console log; empty when nothing booted. */
  log: string;
  /** Wall time of qemu (0 when nothing booted). */
  seconds: number;
  /** `uname -r` in the guest. */
  release?: string;
  /** The command's exit status, when its marker was seen. */
  exitCode?: number;
  /** What the command printed. */
  output: string;
}

/** One boot. */
export interface BootSpec {
  kernel: string;
  vmlinux: string;
  initramfs: Initramfs;
  /** Where to write the serial console (its directory is created). */
  log: string;
  /** Guest RAM; default the image's own {@link Initramfs.memoryMiB}. Below the rule it fails unbooted. */
  memoryMiB?: number;
  /** Appended to the kernel command line (`lsm=...,bpf`). */
  append?: string;
  /** Default 300. */
  timeoutSeconds?: number;
}

/** The emulator. */
export const QEMU = "qemu-system-x86_64";
/** The kernel command line every guest gets. */
export const BASE_APPEND = "console=ttyS0 panic=-1 quiet";

/** The qemu arguments for one boot (no `timeout` wrapper). */
export function qemuArgs(
  vmlinux: string,
  initrd: string,
  memoryMiB: number,
  append: string,
): string[] {
  return [
    ...["-accel", "tcg", "-nodefaults", "-no-user-config", "-machine", "pc", "-cpu", "max"],
    ...["-smp", "1", "-m", String(memoryMiB), "-display", "none", "-monitor", "none"],
    ...["-serial", "stdio", "-no-reboot", "-kernel", vmlinux, "-initrd", initrd],
    ...["-append", append],
  ];
}

async function checkQemu(): Promise<string | undefined> {
  try {
    const r = await new Deno.Command(QEMU, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return r.success ? undefined : `${QEMU} --version exited ${r.code}`;
  } catch (e) {
    return `${QEMU} cannot run (${(e as Error).name}): run ./setup.sh --test`;
  }
}

let qemuCheck: Promise<string | undefined> | undefined;
/** Undefined when qemu runs here, else why not (checked once). */
function qemuMissing(): Promise<string | undefined> {
  qemuCheck ??= checkQemu();
  return qemuCheck;
}

function tail(text: string, n: number): string {
  return text.replace(/\r/g, "").split("\n").filter((l) => l.trim()).slice(-n).join(" | ");
}

/** Boots `spec.vmlinux`; never throws for a guest problem (the result says fail). */
export async function boot(spec: BootSpec): Promise<BootResult> {
  const base = { kernel: spec.kernel, log: "", seconds: 0, output: "" };
  const need = memoryForImage(spec.initramfs.bytes);
  const mem = spec.memoryMiB ?? spec.initramfs.memoryMiB;
  if (mem < need) {
    return {
      ...base,
      status: "fail",
      reason: `${mem} MiB is below 3 × image + 256 MiB = ${need} MiB`,
    };
  }
  const missing = await qemuMissing();
  if (missing) return { ...base, status: "fail", reason: missing };
  const timeout = spec.timeoutSeconds ?? 300;
  const append = spec.append ? `${BASE_APPEND} ${spec.append}` : BASE_APPEND;
  await Deno.mkdir(dirname(spec.log), { recursive: true });
  const t0 = performance.now();
  const child = new Deno.Command("timeout", {
    args: [
      "-k",
      "5",
      String(timeout),
      QEMU,
      ...qemuArgs(spec.vmlinux, spec.initramfs.path, mem, append),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  const log = await Deno.open(spec.log, { write: true, create: true, truncate: true });
  // Tee the console to the log as it arrives, so a hung guest still leaves its log.
  const tee = child.stdout.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform: (c, ctl) => {
        text += decoder.decode(c, { stream: true });
        ctl.enqueue(c);
      },
    }),
  ).pipeTo(log.writable);
  const stderr = new Response(child.stderr).text();
  const [status] = await Promise.all([child.status, tee]);
  const seconds = (performance.now() - t0) / 1000;
  text += decoder.decode();
  const err = (await stderr).trim();
  if (err) await Deno.writeTextFile(spec.log, `\n--- qemu stderr ---\n${err}\n`, { append: true });

  const c = parseConsole(text, spec.initramfs.marker);
  const result = {
    ...base,
    log: spec.log,
    seconds,
    release: c.release,
    exitCode: c.exitCode,
    output: c.output,
  };
  const unpack = /Initramfs unpacking failed[^\r\n]*/.exec(text)?.[0];
  if (unpack) {
    return { ...result, status: "fail", reason: `${unpack} (give the guest more memory)` };
  }
  if (c.exitCode === undefined) {
    const panic = /Kernel panic[^\r\n]*/.exec(text)?.[0];
    const why = status.code === 124
      ? `timed out after ${timeout} s`
      : panic ?? `qemu exited ${status.code}${err ? `: ${tail(err, 2)}` : ""}`;
    return {
      ...result,
      status: "fail",
      reason: `${why}; no exit marker; last lines: ${tail(text, 3)}`,
    };
  }
  if (c.exitCode !== 0) return { ...result, status: "fail", reason: `exit status ${c.exitCode}` };
  return { ...result, status: "pass", reason: "" };
}

/** One guest run for {@link runJobs}. */
export interface Job {
  kernel: GuestKernel;
  initramfs: Initramfs;
  /** Log file name under `logDir` without `.log`; default the kernel id. */
  name?: string;
  append?: string;
  memoryMiB?: number;
  timeoutSeconds?: number;
}

/** How {@link runJobs} runs. */
export interface RunOptions extends FetchOptions {
  /** Where the serial logs go. */
  logDir: string;
  /** Guests at a time; default 2 (one per core here). */
  parallel?: number;
}

/**
 * Fetches every kernel the jobs need (in parallel, cached), then boots the
 * jobs `parallel` at a time. Results come back in the jobs' order; a kernel
 * that could not be fetched gives `skipped` with the reason.
 */
export async function runJobs(jobs: readonly Job[], opts: RunOptions): Promise<BootResult[]> {
  const kernels = [...new Set(jobs.map((j) => j.kernel))];
  const fetched = new Map<GuestKernel, FetchResult>(
    await Promise.all(kernels.map(async (k) => [k, await fetchKernel(k, opts)] as const)),
  );
  const results: BootResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobs.length; i = next++) {
      const j = jobs[i];
      const f = fetched.get(j.kernel)!;
      results[i] = f.status === "skipped"
        ? {
          kernel: j.kernel.id,
          status: "skipped",
          reason: f.reason,
          log: "",
          seconds: 0,
          output: "",
        }
        : await boot({
          kernel: j.kernel.id,
          vmlinux: f.vmlinux,
          initramfs: j.initramfs,
          log: `${opts.logDir}/${j.name ?? j.kernel.id}.log`,
          append: j.append,
          memoryMiB: j.memoryMiB,
          timeoutSeconds: j.timeoutSeconds,
        });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? 2) }, worker));
  return results;
}

/**
 * Boots `image` once in each of `kernels`, as jobs named `<prefix>-<kernel
 * id>` with at least 1 GiB of RAM, serial logs under the kernel cache.
 */
export function runImage(
  kernels: readonly GuestKernel[],
  image: Initramfs,
  prefix: string,
  opts: { parallel?: number; timeoutSeconds?: number } = {},
): Promise<BootResult[]> {
  return runJobs(
    kernels.map((kernel) => ({
      kernel,
      initramfs: image,
      name: `${prefix}-${kernel.id}`,
      memoryMiB: Math.max(1024, image.memoryMiB),
      timeoutSeconds: opts.timeoutSeconds,
    })),
    { logDir: `${DEFAULT_CACHE_DIR}/logs`, parallel: opts.parallel },
  );
}

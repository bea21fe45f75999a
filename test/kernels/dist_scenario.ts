/**
 * The kernel matrix's scenario as the single file runs it: what a guest needs (busybox from
 * initramfs.ts, `dist/bpfink`, the glibc libraries every glibc host has, and the test writers),
 * the build of `dist/bpfink` when it is missing or stale, and the parser of what
 * dist_scenario.sh prints.
 *
 * @module
 */
import { STRATEGIES } from "../../kernels/strategies.ts";
import type { PayloadEntry } from "./initramfs.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** One scenario result: a strategy (or `auto`) in one kernel. */
export interface GuestRow {
  /** `uname -r`. */
  kernel: string;
  strategy: string;
  status: "pass" | "fail";
  chosen?: string;
  /** The object fell back to its alternate programs (raw_tp twin, probe-read twins). */
  alternate?: boolean;
  /** Coverage the chosen object could not provide here. */
  lost?: string[];
  /** The libbpf the agent loaded. */
  libbpf?: string;
  reason?: string;
  seconds: number;
}

/** The single file under test. */
export const DIST_BIN = `${ROOT}dist/bpfink`;
/** The scenario script. */
export const SCENARIO = `${ROOT}test/kernels/dist_scenario.sh`;
/** What the scenario runs: the automatic choice, then each strategy forced. */
export const PROBES = ["auto", ...STRATEGIES.map((s) => s.name)];

const GUEST = {
  bin: "/usr/local/bin/bpfink",
  writev: "/usr/local/bin/writev",
  script: "/scenario.sh",
};
const LIBDIR = "/lib/x86_64-linux-gnu";
/**
 * The libraries of libc6 and libgcc-s1 that the Deno runtime inside the file loads (the
 * launcher itself needs only libc, which initramfs.ts adds with the loader).
 */
const GLIBC_HOST_LIBS = [
  "libm.so.6",
  "libdl.so.2",
  "librt.so.1",
  "libpthread.so.0",
  "libgcc_s.so.1",
];

async function run(cmd: string[]): Promise<void> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${cmd.join(" ")} exited ${out.code}: ${text}`);
  }
}

/**
 * Builds `dist/bpfink` when it is missing or older than its inputs (`build.ts binary
 * --if-needed`: seconds when the compressed runtime is cached, about a minute when not).
 */
export async function ensureDist(): Promise<void> {
  await run([Deno.execPath(), "run", "-A", `${ROOT}build.ts`, "binary", "--if-needed"]);
}

/** Compiles the writev test writer (test/kernels/writev.c) to `out`. */
export async function buildWritev(out: string): Promise<void> {
  await run(["cc", "-O2", "-Wall", "-o", out, `${ROOT}test/kernels/writev.c`]);
}

/** The guest's files: dist/bpfink, the glibc libraries, the scenario and its writer. */
export function distPayload(writev: string): PayloadEntry[] {
  return [
    { host: DIST_BIN, guest: GUEST.bin },
    { host: writev, guest: GUEST.writev },
    { host: SCENARIO, guest: GUEST.script },
    ...GLIBC_HOST_LIBS.map((l) => ({ host: `${LIBDIR}/${l}`, guest: `${LIBDIR}/${l}` })),
  ];
}

/** The guest's command. */
export function distCommand(): string {
  return `sh ${GUEST.script} ${GUEST.bin} ${GUEST.writev} ${PROBES.join(" ")}`;
}

/** The host's command (argv), with the writer at `writev`. */
export function hostCommand(writev: string): string[] {
  return ["sh", SCENARIO, DIST_BIN, writev, ...PROBES];
}

interface Probe {
  begin?: number;
  end?: number;
  exit?: number;
  started?: Record<string, unknown>;
  missed: string[];
  stderr: string[];
}

function alternateUsed(strategy: string, programs: unknown): boolean {
  const alts = STRATEGIES.find((s) => s.name === strategy)?.alternates ?? {};
  return Array.isArray(programs) && programs.some((p) => typeof p === "string" && p in alts);
}

function failure(p: Probe): string {
  const said = p.stderr.find((l) => l.startsWith("bpfink:")) ?? p.stderr.at(-1) ?? "";
  if (p.end === undefined) return "the guest stopped before the scenario ended";
  if (!p.started) return `did not start${said ? `: ${said}` : ""}`;
  if (p.missed.length) return `missed: ${p.missed.join(", ")}`;
  return `exit ${p.exit} after SIGINT${said ? `: ${said}` : ""}`;
}

/** The rows in what dist_scenario.sh printed; `release` is the kernel it ran on. */
export function parseDistRows(text: string, release: string): GuestRow[] {
  const probes = new Map<string, Probe>();
  for (const line of text.replace(/\r/g, "").split("\n")) {
    const m = /^BPFINK-DIST (\S+) (begin|started|missed|stderr|end) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, name, kind, rest] = m;
    if (kind === "begin") probes.set(name, { begin: Number(rest), missed: [], stderr: [] });
    const p = probes.get(name);
    if (!p) continue;
    if (kind === "started") {
      try {
        p.started = JSON.parse(rest);
      } catch {
        p.stderr.push(`unreadable started record: ${rest.slice(0, 120)}`);
      }
    } else if (kind === "missed") p.missed.push(rest);
    else if (kind === "stderr") p.stderr.push(rest);
    else if (kind === "end") {
      const [at, code] = rest.split(" ").map(Number);
      [p.end, p.exit] = [at, code];
    }
  }
  return [...probes].map(([strategy, p]): GuestRow => {
    const b = (p.started?.bpfink ?? {}) as Record<string, unknown>;
    const chosen = typeof b.strategy === "string" ? b.strategy : undefined;
    const pass = p.started !== undefined && p.end !== undefined && !p.missed.length &&
      p.exit === 0;
    return {
      kernel: typeof b.kernel === "string" ? b.kernel : release,
      strategy,
      status: pass ? "pass" : "fail",
      chosen,
      alternate: chosen ? alternateUsed(chosen, b.programs) : undefined,
      // One loss per kind (kprobe's entry and exit programs lose the same syscall).
      lost: Array.isArray(b.coverage_lost) ? [...new Set(b.coverage_lost.map(String))] : undefined,
      libbpf: typeof b.libbpf === "string" ? b.libbpf : undefined,
      reason: pass ? undefined : failure(p),
      seconds: p.begin !== undefined && p.end !== undefined ? p.end - p.begin : 0,
    };
  });
}

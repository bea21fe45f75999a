/**
 * The kernel matrix: every guest kernel (and the host) × every strategy, with
 * the end-to-end scenario run inside each by the single file `dist/bpfink`
 * alone (built first when missing or stale): each guest's initramfs holds
 * busybox, the file, the glibc libraries and the scenario's writers, and no
 * Deno, sources or node_modules. Two guests boot at a time.
 *
 * @module
 */
import { GUEST_KERNELS, type GuestKernel } from "../../kernels/guests.ts";
import { STRATEGIES } from "../../kernels/strategies.ts";
import { type BootResult, runImage } from "./boot.ts";
import {
  buildWritev,
  distCommand,
  distPayload,
  ensureDist,
  type GuestRow,
  hostCommand,
  parseDistRows,
  PROBES,
} from "./dist_scenario.ts";
import { buildInitramfs } from "./initramfs.ts";

/** One row of the matrix. */
export interface MatrixRow {
  kernel: string;
  release?: string;
  strategy: string;
  status: "pass" | "fail" | "skipped" | "unsupported";
  detail: string;
}

/**
 * Per guest: boot, then four starts of the file (each unpacks the runtime) and the scenario,
 * under software emulation on a shared machine: 3 to 6 minutes seen, but 5.10 (its verifier is
 * the slowest) took more than 15 minutes at a load average of 7 to 10. So a guest gets 20.
 */
const GUEST_TIMEOUT_SECONDS = 1200;

function toRows(
  kernel: string,
  expected: string | undefined,
  rows: GuestRow[],
  unsupported: (r: GuestRow) => string | undefined,
): MatrixRow[] {
  return PROBES.map((strategy) => {
    const r = rows.find((x) => x.strategy === strategy);
    if (!r) return { kernel, strategy, status: "fail", detail: "no result from the guest" };
    const lost = r.lost?.length ? `; coverage lost: ${r.lost.join(", ")}` : "";
    const spec = STRATEGIES.find((s) => s.name === (r.chosen ?? r.strategy));
    const alt = r.alternate ? ` (${spec?.alternatesAre ?? "alternate programs"})` : "";
    if (r.status !== "pass") {
      const why = unsupported(r);
      return {
        kernel,
        release: r.kernel,
        strategy,
        status: why ? "unsupported" : "fail",
        detail: why ?? r.reason ?? "",
      };
    }
    if (strategy === "auto" && expected && r.chosen !== expected) {
      return {
        kernel,
        release: r.kernel,
        strategy,
        status: "fail",
        detail: `chose ${r.chosen}, expected ${expected}`,
      };
    }
    return {
      kernel,
      release: r.kernel,
      strategy,
      status: "pass",
      detail: strategy === "auto"
        ? `chose ${r.chosen}${alt}; ${
          r.libbpf?.includes("/run/bpfink/") ? "embedded libbpf" : `libbpf ${r.libbpf}`
        }`
        : `all scenario events seen${alt}${lost}`,
    };
  });
}

function guestRows(k: GuestKernel, r: BootResult): MatrixRow[] {
  if (r.status === "skipped") {
    return PROBES.map((strategy) => ({
      kernel: k.id,
      strategy,
      status: "skipped",
      detail: r.reason,
    }));
  }
  const rows = parseDistRows(r.output, r.release ?? "");
  if (rows.length === 0) {
    return [{
      kernel: k.id,
      release: r.release,
      strategy: "all",
      status: "fail",
      detail: `${r.reason || "no rows"} (log: ${r.log})`,
    }];
  }
  // A guest cut short (timeout, panic) says so beside the rows it left unfinished.
  return toRows(k.id, k.expectedChoice, rows, () => undefined).map((row) =>
    row.status === "fail" && r.status === "fail"
      ? { ...row, detail: `${row.detail}; ${r.reason} (log: ${r.log})` }
      : row
  );
}

async function runHost(writev: string, runtimeCache: string): Promise<MatrixRow[]> {
  const [cmd, ...args] = hostCommand(writev);
  // As root the file runs its runtime from a cache directory: one of the test's own here.
  const env = { BPFINK_RUNTIME_CACHE: runtimeCache };
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const rows = parseDistRows(new TextDecoder().decode(out.stdout), Deno.osRelease());
  // On the host a strategy may be impossible: say so when the kernel is the reason.
  return toRows("host", undefined, rows, (r) => {
    const m = /(the kernel refuses BPF trampolines[^:]*|no kprobe PMU on this kernel[^:]*)/.exec(
      r.reason ?? "",
    );
    return m ? m[1] : undefined;
  });
}

/** Runs the whole matrix; `kernels` limits the guests (ids). Serial logs: .cache/kernels/logs/. */
export async function runMatrix(kernels?: string[]): Promise<MatrixRow[]> {
  const guests = GUEST_KERNELS.filter((k) => !kernels || kernels.includes(k.id));
  await ensureDist();
  const tmp = await Deno.makeTempDir({ prefix: "bpfink-matrix-" });
  try {
    const writev = `${tmp}/writev`;
    await buildWritev(writev);
    const image = await buildInitramfs(
      { command: distCommand(), payload: distPayload(writev) },
      `${tmp}/initrd.cpio`,
    );
    const results = await runImage(guests, image, "matrix", {
      timeoutSeconds: GUEST_TIMEOUT_SECONDS,
    });
    const rows = guests.flatMap((k, i) => guestRows(k, results[i]));
    return [...rows, ...await runHost(writev, `${tmp}/runtime-cache`)];
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The matrix as a Markdown table. */
export function matrixTable(rows: MatrixRow[]): string {
  return [
    "| kernel | release | strategy | result | detail |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.kernel} | ${r.release ?? ""} | ${r.strategy} | ${r.status} | ${
        r.detail.replace(/\|/g, "\\|")
      } |`
    ),
  ].join("\n");
}

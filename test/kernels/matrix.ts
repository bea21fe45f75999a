/**
 * The kernel matrix: every guest kernel (and the host) × every strategy, with
 * the end-to-end scenario run inside each. Two guests boot at a time.
 *
 * @module
 */
import { GUEST_KERNELS, type GuestKernel } from "../../kernels/guests.ts";
import { STRATEGIES } from "../../kernels/strategies.ts";
import { type BootResult, runImage } from "./boot.ts";
import { guestCommand, guestPayload } from "./guest_payload.ts";
import type { GuestRow } from "./guest_scenario.ts";
import { buildInitramfs } from "./initramfs.ts";

/** One row of the matrix. */
export interface MatrixRow {
  kernel: string;
  release?: string;
  strategy: string;
  status: "pass" | "fail" | "skipped" | "unsupported";
  detail: string;
}

const ROOT = new URL("../..", import.meta.url).pathname;

function parseRows(text: string): GuestRow[] {
  return text.split("\n").filter((l) => l.startsWith("BPFINK-ROW ")).map((l) =>
    JSON.parse(l.slice(11))
  );
}

function toRows(
  kernel: string,
  expected: string | undefined,
  rows: GuestRow[],
  unsupported: (r: GuestRow) => string | undefined,
): MatrixRow[] {
  const want = ["auto", ...STRATEGIES.map((s) => s.name)];
  return want.map((strategy) => {
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
    return ["auto", ...STRATEGIES.map((s) => s.name)].map((strategy) => ({
      kernel: k.id,
      strategy,
      status: "skipped",
      detail: r.reason,
    }));
  }
  const rows = parseRows(r.output);
  if (rows.length === 0) {
    return [{
      kernel: k.id,
      release: r.release,
      strategy: "all",
      status: "fail",
      detail: `${r.reason || "no rows"} (log: ${r.log})`,
    }];
  }
  return toRows(k.id, k.expectedChoice, rows, () => undefined);
}

async function runHost(): Promise<MatrixRow[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}test/kernels/guest_scenario.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const rows = parseRows(new TextDecoder().decode(out.stdout));
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
  const tmp = await Deno.makeTempDir({ prefix: "bpfink-matrix-" });
  try {
    const image = await buildInitramfs(
      { command: guestCommand("test/kernels/guest_scenario.ts"), payload: guestPayload() },
      `${tmp}/initrd.cpio`,
    );
    // Four rows per guest under TCG: 5.10's verifier alone takes minutes per
    // row on a busy machine (130 s per row seen), so a guest gets 15 minutes.
    const results = await runImage(guests, image, "matrix", { timeoutSeconds: 900 });
    const rows = guests.flatMap((k, i) => guestRows(k, results[i]));
    return [...rows, ...await runHost()];
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

/**
 * The kernel matrix: every guest kernel (and the host) × every strategy, with
 * the end-to-end scenario run inside each. Two guests boot at a time.
 *
 * @module
 */
import { GUEST_KERNELS, type GuestKernel } from "../../kernels/guests.ts";
import { STRATEGIES } from "../../kernels/strategies.ts";
import { boot } from "./boot.ts";
import { fetchKernel } from "./fetch_kernel.ts";
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
    const alt = r.alternate ? " (raw_tp twin)" : "";
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

async function runGuest(k: GuestKernel, initrd: string, mem: number): Promise<MatrixRow[]> {
  const f = await fetchKernel(k);
  if (!f.ok) {
    return ["auto", ...STRATEGIES.map((s) => s.name)].map((strategy) => ({
      kernel: k.id,
      strategy,
      status: "skipped",
      detail: f.reason,
    }));
  }
  const r = await boot(f.vmlinux, initrd, mem);
  const rows = parseRows(r.console);
  if (rows.length === 0) {
    const tail = r.console.split("\n").filter((l) => l.trim()).slice(-3).join(" | ");
    return [{
      kernel: k.id,
      release: f.version,
      strategy: "all",
      status: "fail",
      detail: `${r.reason ?? "no rows"}: ${tail}`,
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

/** Runs the whole matrix; `kernels` limits the guests (ids). */
export async function runMatrix(kernels?: string[]): Promise<MatrixRow[]> {
  const guests = GUEST_KERNELS.filter((k) => !kernels || kernels.includes(k.id));
  const initrd = await Deno.makeTempFile({ prefix: "bpfink-initrd-" });
  try {
    await Promise.all(guests.map((k) => fetchKernel(k))); // warm the cache in parallel
    const size = await buildInitramfs(
      guestPayload(),
      guestCommand("test/kernels/guest_scenario.ts"),
      initrd,
    );
    const mem = Math.max(1024, Math.ceil((3 * size) / 1048576) + 256);
    const rows: MatrixRow[] = [];
    const queue = [...guests];
    const workers = Array.from({ length: 2 }, async () => {
      for (let k = queue.shift(); k; k = queue.shift()) {
        rows.push(...await runGuest(k, initrd, mem));
      }
    });
    await Promise.all(workers);
    rows.push(...await runHost());
    const order = [...guests.map((g) => g.id), "host"];
    return rows.sort((a, b) => order.indexOf(a.kernel) - order.indexOf(b.kernel));
  } finally {
    await Deno.remove(initrd);
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

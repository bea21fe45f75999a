/**
 * The coverage matrix inside the guests: every change method under fentry,
 * kprobe and tracepoint, on Debian's 5.10, 6.1 and 6.12. Writes
 * kernels/coverage.md and the README's table. Not part of the test run (it
 * takes minutes); `--kernels 6.1` limits it (and writes nothing).
 *
 *   deno run -A test/kernels/coverage_guests.ts [--kernels 6.1]
 *
 * The C programs of the PROGRAM_ROWS are built here (`gcc -static`: a guest
 * has no compiler, nor the host's libraries) and carried in the payload.
 *
 * @module
 */
import { writeGenerated } from "../generated_docs.ts";
import { GUEST_KERNELS } from "../../kernels/guests.ts";
import { runImage } from "./boot.ts";
import { guestCommand, guestPayload, missingFromPayload } from "./guest_payload.ts";
import { buildInitramfs, type PayloadEntry } from "./initramfs.ts";
import {
  GUEST_PROGRAM_DIR,
  PROGRAM_ROWS,
  PROGRAMS,
  RESOLVED_ROWS,
  ROWS as BASE_ROWS,
} from "../coverage_methods.ts";
import { cellText, type Verdict } from "../coverage_verdict.ts";

const ROWS = [...BASE_ROWS, ...RESOLVED_ROWS, ...PROGRAM_ROWS];
const ROOT = new URL("../..", import.meta.url).pathname;

/** The script every guest runs. */
export const COVERAGE_SCRIPT = "test/kernels/guest_coverage.ts";

/**
 * The guest payload of the matrix: the agent's, the row definitions and
 * their judge, the programs built into `prebuilt`, and the tools the rows
 * run (python3 with its standard library, fio for io_uring writes,
 * util-linux fallocate; the rest are busybox applets).
 */
export function coveragePayload(prebuilt: string): PayloadEntry[] {
  return guestPayload([
    ...["coverage_methods.ts", "coverage_verdict.ts", "kernels/guest_coverage.ts"].map((f) =>
      [`${ROOT}test/${f}`, `/bpfink/test/${f}`] as [string, string]
    ),
    ...PROGRAMS.map((p) => [`${prebuilt}/${p}`, `${GUEST_PROGRAM_DIR}/${p}`] as [string, string]),
    ["/usr/bin/python3.11", "/usr/bin/python3"],
    ["/usr/lib/python3.11", "/usr/lib/python3.11"],
    ["/usr/bin/fallocate", "/usr/bin/fallocate"],
    ["/usr/bin/fio", "/usr/bin/fio"],
  ]);
}

/** Builds every program of PROGRAMS into `dir`, statically; throws one sentence when it cannot. */
async function buildPrograms(dir: string): Promise<void> {
  for (const p of PROGRAMS) {
    const src = `${ROOT}test/inode/${p}.c`;
    let r: Deno.CommandOutput | undefined;
    try {
      r = await new Deno.Command("gcc", {
        args: ["-O1", "-static", "-pthread", "-o", `${dir}/${p}`, src],
        stdout: "null",
        stderr: "piped",
      }).output();
    } catch {
      r = undefined; // no gcc
    }
    if (!r?.success) {
      const why = r ? new TextDecoder().decode(r.stderr).trim().split("\n")[0] : "gcc not found";
      throw new Error(
        `Cannot build test/inode/${p}.c statically for the guests (install gcc and libc6-dev): ${why}`,
      );
    }
  }
}

/** One guest's table. */
function table(id: string, release: string, output: string): string {
  const results = output.split("\n").filter((l) => l.startsWith("BPFINK-COV "))
    .map((l) => JSON.parse(l.slice(11)) as Verdict & { strategy: string; method: string });
  const strategies = ["fentry", "kprobe", "tracepoint"];
  const cell = (s: string, m: string) =>
    cellText(results.find((r) => r.strategy === s && (r.method === m || r.method === "*")));
  const lost = (s: string) =>
    results.find((r) => r.strategy === s && r.method === "coverage lost")?.detail || "none";
  return [
    `#### ${id} (${release})`,
    "",
    "| method | fentry | kprobe | tracepoint |",
    "| --- | --- | --- | --- |",
    ...ROWS.map((row) =>
      `| ${row.name.replaceAll("|", "\\|")} | ${
        strategies.map((s) => cell(s, row.name)).join(" | ")
      } |`
    ),
    `| coverage lost | ${strategies.map(lost).join(" | ")} |`,
  ].join("\n");
}

async function main(): Promise<number> {
  const i = Deno.args.indexOf("--kernels");
  const only = i >= 0 ? Deno.args[i + 1].split(",") : undefined;
  const guests = GUEST_KERNELS.filter((k) => !only || only.includes(k.id));
  const tmp = await Deno.makeTempDir({ prefix: "bpfink-coverage-" });
  const sections: string[] = [];
  const failed: string[] = [];
  try {
    const payload = coveragePayload(tmp);
    const missing = await missingFromPayload(COVERAGE_SCRIPT, payload);
    if (missing.length) {
      console.error(
        `The guest payload lacks what ${COVERAGE_SCRIPT} imports: ${missing.join(", ")}`,
      );
      return 1;
    }
    try {
      await buildPrograms(tmp);
    } catch (e) {
      console.error((e as Error).message);
      return 1;
    }
    const image = await buildInitramfs(
      { command: guestCommand(COVERAGE_SCRIPT), payload },
      `${tmp}/initrd.cpio`,
    );
    // One guest at a time, as this script has always run them.
    const results = await runImage(guests, image, "coverage", {
      parallel: 1,
      timeoutSeconds: 1500,
    });
    for (const [i, k] of guests.entries()) {
      const r = results[i];
      if (r.status === "skipped") {
        sections.push(`#### ${k.id}: skipped (${r.reason})`);
        continue;
      }
      if (!r.output.includes("BPFINK-COV ")) {
        failed.push(k.id);
        console.error(r.output.split("\n").slice(-15).join("\n"));
      }
      sections.push(table(k.id, r.release ?? "release unknown", r.output));
      console.error(
        `${k.id}: ${r.output.split("BPFINK-COV ").length - 1} results in ${r.seconds.toFixed(0)} s${
          r.reason ? ` (${r.reason})` : ""
        }`,
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  const md = sections.join("\n\n");
  console.log(md);
  if (failed.length) {
    // A broken run never replaces good tables with "no result".
    console.error(`no results from ${failed.join(", ")}: tables left as they were`);
    return 1;
  }
  if (!only) {
    const stamp = `Generated by \`deno run -A test/kernels/coverage_guests.ts\` on ${
      new Date().toISOString().slice(0, 10)
    }.`;
    await writeGenerated(
      "coverage",
      "kernels/coverage.md",
      "Coverage per strategy, in guests",
      md,
      stamp,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());

/**
 * What the kernel's verifier costs for each of bpfink's BPF objects, side by
 * side in one run: for every program of this tree's objects (kernels/build)
 * that loads on this kernel, the verifier's own time and the instructions it
 * processed (its statistics log, level 4, read through src/bpf's libbpf
 * wrapper), each program loaded alone; with `--against REV`, the same for the
 * objects built from git commit REV (checked out in a temporary directory,
 * removed afterwards: checkout.ts). Rounds alternate the sides so that the
 * machine's other load hits both alike. Prints a markdown table: median and range of the time,
 * the processed count (deterministic for one kernel and object), and the
 * ratio of this tree's median time to REV's.
 *
 *   sudo deno run -A bench/object_load.ts [--against REV] [--rounds 5] [--readme]
 *
 * `--readme` writes the table into bench/results/object_load.md and the
 * README's object_load section.
 *
 * A bench prints numbers; nothing here is a timed assertion. Needs root.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadLibbpf } from "../src/agent/open_kernel.ts";
import { BpfError } from "../src/bpf/bpf_error.ts";
import { BpfObject } from "../src/bpf/bpf_object.ts";
import { type VerifierStats, verifyProgram } from "../src/bpf/verifier_stats.ts";
import { median } from "./bench_env.ts";
import { writeGenerated } from "../test/generated_docs.ts";
import { checkout } from "./checkout.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OBJECTS = ["fim-tracepoint", "fim-fentry", "fim-kprobe"];

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    against: { type: "string" },
    rounds: { type: "string", default: "5" },
    readme: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error(`object_load: --rounds must be a positive whole number, not "${args.rounds}".`);
  Deno.exit(2);
}

/** One side of the comparison: a directory holding the built objects. */
interface Side {
  name: string;
  dir: string;
}

/** The programs of an object, in ELF order. */
function programNames(lib: ReturnType<typeof loadLibbpf>, name: string, bytes: Uint8Array) {
  const obj = BpfObject.open(lib, name, bytes);
  try {
    return obj.programs().map((p) => p.name);
  } finally {
    obj.close();
  }
}

/** The statistics of `program`, or why this kernel refuses it. */
function measure(
  lib: ReturnType<typeof loadLibbpf>,
  name: string,
  bytes: Uint8Array,
  program: string,
): VerifierStats | string {
  try {
    return verifyProgram(lib, name, bytes, program);
  } catch (e) {
    if (e instanceof BpfError) return e.errnoText.split(" ")[0];
    throw e;
  }
}

const lib = loadLibbpf();
const sides: Side[] = [{ name: "this tree", dir: `${ROOT}kernels/build` }];
const temp = await Deno.makeTempDir({ prefix: "bpfink-object-load-" });
try {
  if (args.against) {
    sides.push({ name: args.against, dir: `${await checkout(args.against, temp)}/kernels/build` });
  }
  const bytes = new Map<string, Uint8Array>();
  for (const s of sides) {
    for (const o of OBJECTS) bytes.set(`${s.name}/${o}`, Deno.readFileSync(`${s.dir}/${o}.bpf.o`));
  }
  // Rows: every (object, program) of either side.
  const rows: { object: string; program: string }[] = [];
  for (const o of OBJECTS) {
    const names = new Set<string>();
    for (const s of sides) {
      for (const p of programNames(lib, o, bytes.get(`${s.name}/${o}`)!)) names.add(p);
    }
    for (const p of names) rows.push({ object: o, program: p });
  }
  // results[side][row] = the rounds' stats, or the refusal.
  const results = sides.map(() => rows.map(() => [] as (VerifierStats | string)[]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, row] of rows.entries()) {
      for (const [k, s] of sides.entries()) {
        const b = bytes.get(`${s.name}/${row.object}`)!;
        const has = programNames(lib, row.object, b).includes(row.program);
        results[k][i].push(has ? measure(lib, row.object, b, row.program) : "absent");
      }
    }
  }
  const md: string[] = [];
  const kernel = Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  md.push(`Verifier cost per program, kernel ${kernel}, ${ROUNDS} rounds, sides alternating.`);
  md.push(
    "Time: median (min-max) ms of the verifier's own time; insns: processed. Programs this " +
      "kernel refuses on both sides are left out.",
    "",
  );
  const head = ["object", "program", ...sides.flatMap((s) => [`${s.name} ms`, `${s.name} insns`])];
  if (sides.length > 1) head.push("time ratio");
  md.push(`| ${head.join(" | ")} |`);
  md.push(`|${head.map(() => "---").join("|")}|`);
  const loads = (i: number) => results.some((side) => side[i].some((x) => typeof x !== "string"));
  const totals = new Map<string, { ms: number[]; insns: number[] }>();
  for (const o of OBJECTS) {
    if (!rows.some((row, i) => row.object === o && loads(i))) {
      md.push(
        `| ${o} | (every program) | not loaded here | | | |${sides.length > 1 ? " |" : ""}`,
      );
    }
  }
  for (const [i, row] of rows.entries()) {
    if (!loads(i)) continue;
    const cells = [row.object, row.program];
    const medians: number[] = [];
    for (const k of sides.keys()) {
      const runs = results[k][i];
      const ok = runs.filter((x): x is VerifierStats => typeof x !== "string");
      if (ok.length === 0) {
        cells.push(`not loaded (${runs[0]})`, "");
        continue;
      }
      const ms = ok.map((x) => (x.timeUs ?? NaN) / 1000);
      medians[k] = median(ms);
      const t = totals.get(`${k}/${row.object}`) ?? { ms: [], insns: [] };
      t.ms.push(median(ms));
      t.insns.push(ok[0].processed);
      totals.set(`${k}/${row.object}`, t);
      cells.push(
        `${median(ms).toFixed(1)} (${Math.min(...ms).toFixed(1)}-${Math.max(...ms).toFixed(1)})`,
        ok.map((x) => x.processed).filter((v, j, a) => a.indexOf(v) === j).join(", "),
      );
    }
    if (sides.length > 1) {
      cells.push(
        medians[0] !== undefined && medians[1] ? `${(medians[0] / medians[1]).toFixed(2)}×` : "",
      );
    }
    md.push(`| ${cells.join(" | ")} |`);
  }
  // Each object's programs together: what loading all of them costs the verifier.
  for (const o of OBJECTS) {
    const per = sides.map((_, k) => totals.get(`${k}/${o}`));
    if (per.every((t) => !t)) continue;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const cells = [o, "**all, summed**"];
    for (const t of per) cells.push(t ? sum(t.ms).toFixed(1) : "", t ? String(sum(t.insns)) : "");
    if (sides.length > 1) {
      cells.push(per[0] && per[1] ? `${(sum(per[0].ms) / sum(per[1].ms)).toFixed(2)}×` : "");
    }
    md.push(`| ${cells.join(" | ")} |`);
  }
  const text = md.join("\n");
  console.log(text);
  if (args.readme) {
    const stamp =
      `Generated by \`deno run -A bench/object_load.ts --against ${args.against ?? ""} ` +
      `--rounds ${ROUNDS} --readme\` on ${new Date().toISOString().slice(0, 10)}.`;
    await writeGenerated(
      "object_load",
      "bench/results/object_load.md",
      "bpfink verifier cost per program",
      text,
      stamp,
    );
  }
} finally {
  await Deno.remove(temp, { recursive: true });
}

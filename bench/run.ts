/**
 * Runs every benchmark and prints Markdown tables (also written to
 * bench/results/latest.md). Needs root.
 *
 *   deno run -A bench/run.ts [--quick]
 *
 * @module
 */
import { BenchEnv } from "./bench_env.ts";
import { latency } from "./latency.ts";
import { throughput } from "./throughput.ts";
import { writeOverhead } from "./write_overhead.ts";

const quick = Deno.args.includes("--quick");
await using env = await BenchEnv.create();
const parts = [
  `## bpfink benchmarks`,
  "",
  `Kernel ${Deno.osRelease()}, ${navigator.hardwareConcurrency} CPUs, ${
    new Date().toISOString().slice(0, 10)
  }. ` +
  `Command: \`deno run -A bench/run.ts${quick ? " --quick" : ""}\`.`,
  "",
];
for (
  const [name, fn] of [["write overhead", writeOverhead], ["latency", latency], [
    "throughput",
    throughput,
  ]] as const
) {
  console.error(`running ${name}...`);
  const section = await fn(env, quick);
  console.log(section);
  parts.push(section);
}
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(new URL("./results/latest.md", import.meta.url), parts.join("\n") + "\n");

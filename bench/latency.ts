/**
 * Latency from the kernel seeing a write (the event's bpf_ktime_get_ns, i.e.
 * CLOCK_MONOTONIC at syscall exit) to the event reaching the JS callback, and
 * from a write to the change event out of the whole agent.
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import type { Output } from "../src/outputs/output.ts";
import { inodeOf } from "../src/watch/inode_key.ts";
import { type BenchEnv, percentile, table } from "./bench_env.ts";

const libc = Deno.dlopen("libc.so.6", {
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
});
const ts = new BigInt64Array(2);
function monoNs(): bigint {
  libc.symbols.clock_gettime(1, new Uint8Array(ts.buffer));
  return ts[0] * 1_000_000_000n + ts[1];
}

function row(name: string, us: number[]): (string | number)[] {
  return [
    name,
    us.length,
    percentile(us, 50).toFixed(0),
    percentile(us, 90).toFixed(0),
    percentile(us, 99).toFixed(0),
    Math.max(...us).toFixed(0),
  ];
}

/** Runs the benchmark; returns its Markdown section. */
export async function latency(env: BenchEnv, quick: boolean): Promise<string> {
  const n = quick ? 300 : 2000;
  const file = `${env.dir}/latency`;
  await Deno.writeTextFile(file, "");
  const id = inodeOf(await Deno.stat(file));
  const kernelUs: number[] = [];
  const a = env.strategy("tracepoint", (e) => {
    kernelUs.push(Number(monoNs() - e.tsNs) / 1000);
    a.kernel!.rearm(id);
  });
  try {
    a.kernel!.watchInode(id, 1);
    await env.load("spaced", file, String(n), "1000");
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await a.close();
  }

  // Through the whole agent: write → change event (output). The writes are
  // spaced, and the output records when each event for the file arrives. The
  // same again while a child floods other watched files with appends.
  const agentFile = `${env.dir}/agent-latency`;
  const floodDir = `${env.dir}/flood`;
  const floodFiles = 100;
  await Deno.writeTextFile(agentFile, "");
  await Deno.mkdir(floodDir, { recursive: true });
  for (let i = 0; i < floodFiles; i++) await Deno.writeTextFile(`${floodDir}/f${i}`, "");
  const arrivals: number[] = [];
  let floodEvents = 0;
  const out: Output = {
    name: "bench",
    write: (e: ChangeEvent) => {
      if (e.event.action !== "modified") return;
      if (e.file?.path === agentFile) arrivals.push(performance.now());
      else floodEvents++;
    },
    close: () => Promise.resolve(),
  };
  const agent = await Agent.start({
    watches: watchesForPaths([agentFile, floodDir]),
    outputs: [out],
  });
  const m = quick ? 50 : 300;
  const measure = async (): Promise<number[]> => {
    const us: number[] = [];
    for (let i = 0; i < m; i++) {
      const before = arrivals.length;
      const t0 = performance.now();
      await Deno.writeTextFile(agentFile, `${i}\n`, { append: true });
      while (arrivals.length === before && performance.now() - t0 < 1000) {
        await new Promise((r) => setTimeout(r, 0));
      }
      if (arrivals.length > before) us.push((arrivals[arrivals.length - 1] - t0) * 1000);
      await new Promise((r) => setTimeout(r, 5));
    }
    return us;
  };
  let agentUs: number[];
  let floodUs: number[];
  let floodWrites = 0;
  try {
    agentUs = await measure();
    // The flood runs for longer than the measure takes, and is stopped after it.
    const flood = new Deno.Command(env.loadPath, {
      args: ["roundrobin", floodDir, String(floodFiles), "600"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 500));
      floodUs = await measure();
    } finally {
      flood.kill("SIGTERM");
      await flood.status;
    }
    for (let i = 0; i < floodFiles; i++) floodWrites += (await Deno.stat(`${floodDir}/f${i}`)).size;
  } finally {
    await agent.stop();
  }
  return [
    `### Latency (µs)`,
    "",
    table(["path", "events", "p50", "p90", "p99", "max"], [
      row("kernel (syscall exit) → ring buffer callback", kernelUs),
      row("write() → change event out of the agent (settle 2 ms, re-read, sha256)", agentUs),
      row(
        `the same, during a flood of appends to ${floodFiles} other watched files`,
        floodUs,
      ),
    ]),
    "",
    `During the flood, the flooding process made ${floodWrites.toLocaleString("en")} ` +
    `appends and the agent reported ${floodEvents.toLocaleString("en")} changes of those files ` +
    "(writes to a file not yet re-read fold into one change).",
    "",
  ].join("\n");
}

/**
 * Latency from the kernel seeing a write (the event's bpf_ktime_get_ns, i.e.
 * CLOCK_MONOTONIC at syscall exit) to the event reaching the JS callback, and
 * from another process's write to the change event out of the whole agent.
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
  // A row without samples is a broken bench, not a fast one.
  if (us.length === 0) throw new Error(`latency: "${name}" has no sample: no event was timed`);
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
  // The ring read on the main thread, and emptied by the pump as the agent reads a ring sized
  // past 4 MiB (here a 1 MiB ring and a 1 MiB queue).
  const kernelUs: number[] = [];
  const pumpedUs: number[] = [];
  for (const [us, queue] of [[kernelUs, 0], [pumpedUs, 1 << 20]] as const) {
    const a = env.strategy(
      "tracepoint",
      (e) => {
        us.push(Number(monoNs() - e.tsNs) / 1000);
        a.kernel!.rearm(id);
      },
      false,
      queue,
    );
    try {
      a.kernel!.watchInode(id, 1);
      await env.load("spaced", file, String(n), "1000");
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await a.close();
    }
  }

  // Through the whole agent: a write by another process → the change event
  // out of the agent. The writer (load.c "stamped") appends the line "i" for
  // each write i when told to, and prints CLOCK_MONOTONIC just before it; the output takes
  // the same clock at each change and credits it to every line the change's
  // diff added. Once with each append opened and closed (what editors and
  // shadow-utils do: the close ends the settle), once through one fd held
  // open (the re-read waits out the 2 ms settle), once with a new version
  // renamed over the file, and once more with closes during a flood of
  // appends to other watched files.
  /** One file per measure, so that no change of one is credited to another. */
  const agentFiles = ["closed", "held", "renamed", "flood"].map((k) =>
    `${env.dir}/agent-latency-${k}`
  );
  const floodDir = `${env.dir}/flood`;
  const floodFiles = 100;
  for (const f of agentFiles) await Deno.writeTextFile(f, "");
  await Deno.mkdir(floodDir, { recursive: true });
  for (let i = 0; i < floodFiles; i++) await Deno.writeTextFile(`${floodDir}/f${i}`, "");
  /** By file: when each added line was first seen in a change event (monotonic ns). */
  const seen = new Map<string, Map<string, bigint>>();
  let floodEvents = 0;
  const out: Output = {
    name: "bench",
    write: (e: ChangeEvent) => {
      if (e.event.action !== "modified" && e.event.action !== "replaced") return;
      const lines = seen.get(e.file?.path ?? "");
      if (!lines) {
        if (e.file?.path?.startsWith(floodDir)) floodEvents++;
        return;
      }
      const at = monoNs();
      const diff = e.bpfink?.diff as { added?: string[] } | undefined;
      for (const line of diff?.added ?? []) if (!lines.has(line)) lines.set(line, at);
    },
    close: () => Promise.resolve(),
  };
  const agent = await Agent.start({
    watches: watchesForPaths([...agentFiles, floodDir]),
    outputs: [out],
  });
  const m = quick ? 50 : 300;
  /** hold: 0 open and close each time, 1 one fd held open, 2 replaced by rename (load.c). */
  const measure = async (run: number, hold: 0 | 1 | 2): Promise<number[]> => {
    const file = agentFiles[run];
    seen.set(file, new Map());
    const lines = seen.get(file)!;
    // One write at a time, the next 5 ms after the change of the last came out
    // (sooner, the file would count as written again and again: a flood).
    const writer = new Deno.Command(env.loadPath, {
      args: ["stamped", file, String(hold)],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const go = writer.stdin.getWriter();
    for (let i = 0; i < m; i++) {
      await go.write(new Uint8Array([10]));
      const end = performance.now() + 1000;
      while (!lines.has(String(i)) && performance.now() < end) {
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await go.close();
    const done = await writer.output();
    if (!done.success) throw new Error("the stamped writer failed");
    const stamps = new TextDecoder().decode(done.stdout).trim().split("\n").map(BigInt);
    return stamps.flatMap((t, i) => {
      const at = lines.get(String(i));
      return at === undefined ? [] : [Number(at - t) / 1000];
    });
  };
  let closedUs: number[];
  let heldUs: number[];
  let renamedUs: number[];
  let floodUs: number[];
  let floodWrites = 0;
  try {
    closedUs = await measure(0, 0);
    heldUs = await measure(1, 1);
    renamedUs = await measure(2, 2);
    // The flood runs for longer than the measure takes, and is stopped after it.
    const flood = new Deno.Command(env.loadPath, {
      args: ["roundrobin", floodDir, String(floodFiles), "600"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 500));
      floodUs = await measure(3, 0);
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
      row(
        "kernel (syscall exit) → ring buffer callback, the ring read on the main thread",
        kernelUs,
      ),
      row(
        "the same through the ring's pump and its queue (as the agent reads a ring past 4 MiB)",
        pumpedUs,
      ),
      row("another process's write() and close() → change event out of the agent", closedUs),
      row("the same with the file held open (no close: the 2 ms settle runs out)", heldUs),
      row("a new version written beside it and renamed over it (`rename()` → event)", renamedUs),
      row(
        `write() and close(), during a flood of appends to ${floodFiles} other watched files`,
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

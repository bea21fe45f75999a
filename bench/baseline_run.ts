/**
 * One first-baseline run for bench/baseline.ts, in a process of its own:
 * starts the agent on ROOT (recursive), with or without line diffs, and
 * prints `{"s": seconds, "peak": bytes, "rss": bytes 2 s after arming, "watched": paths,
 * "kernelS": the chosen kernel object's load + attach + canary seconds, "heap": JavaScript heap
 * bytes used, "ring": RSS of the kernel's maps mapped into the process (the ring buffer),
 * "file": RSS of file-backed pages (Deno's binary and the libraries)}`.
 *
 *   deno run -A bench/baseline_run.ts ROOT true|false [DATABASE]
 *
 * With DATABASE, the baseline is kept there, on disk, as the daemon keeps it (a
 * first baseline: DATABASE must not exist); without, in a temporary database.
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";

const [root, diffArg, database] = Deno.args;
const diff = diffArg === "true";
const t0 = performance.now();
const agent = await Agent.start({
  watches: watchesForPaths([root], true).map((w) => ({
    ...w,
    diffMaxBytes: diff ? w.diffMaxBytes : 0,
  })),
  outputs: [{ name: "none", write: () => {}, close: () => Promise.resolve() }],
  // The only agent in this process, as the run and --paths commands start it.
  soleAgent: true,
  ...(database ? { database } : {}),
});
const s = (performance.now() - t0) / 1000;
const watched = agent.watch.present;
// Armed and idle: what the agent holds for the rest of its life.
await new Promise((r) => setTimeout(r, 2000));
const status = Deno.readTextFileSync("/proc/self/status");
const rss = /VmRSS:\s+(\d+) kB/.exec(status)![1];
// File-backed: pages of Deno's binary and the libraries (shared, reclaimable; see page_out_code.ts).
const file = /RssFile:\s+(\d+) kB/.exec(status)![1];
const heap = Deno.memoryUsage().heapUsed;
// The ring buffer is mapped into the process (its data pages once: src/bpf/ring_buffer.ts).
let ring = 0;
let inMap = false;
for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
  if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inMap = line.endsWith("anon_inode:bpf-map");
  const m = /^Rss:\s+(\d+) kB/.exec(line);
  if (m && inMap) ring += Number(m[1]) * 1024;
}
const chosen = agent.trials.find((t) => t.outcome === "chosen");
const kernelS = ((chosen?.loadMs ?? 0) + (chosen?.attachMs ?? 0) + (chosen?.canaryMs ?? 0)) / 1000;
await agent.stop();
const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))![1];
console.log(
  JSON.stringify({
    s,
    peak: Number(hwm) * 1024,
    rss: Number(rss) * 1024,
    // RssFile counts the ring buffer too (a mapping of a BPF map, an anonymous inode).
    file: Number(file) * 1024 - ring,
    watched,
    kernelS,
    heap,
    ring,
  }),
);

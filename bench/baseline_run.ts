/**
 * One first-baseline run for bench/baseline.ts, in a process of its own:
 * starts the agent on ROOT (recursive), with or without line diffs, and
 * prints `{"s": seconds, "peak": bytes, "rss": bytes 2 s after arming, "watched": paths}`.
 *
 *   deno run -A bench/baseline_run.ts ROOT true|false
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";

const [root, diffArg] = Deno.args;
const diff = diffArg === "true";
const t0 = performance.now();
const agent = await Agent.start({
  watches: watchesForPaths([root], true).map((w) => ({
    ...w,
    diffMaxBytes: diff ? w.diffMaxBytes : 0,
  })),
  outputs: [{ name: "none", write: () => {}, close: () => Promise.resolve() }],
});
const s = (performance.now() - t0) / 1000;
const watched = agent.watch.present;
// Armed and idle: what the agent holds for the rest of its life.
await new Promise((r) => setTimeout(r, 2000));
const rss = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))![1];
await agent.stop();
const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))![1];
console.log(JSON.stringify({ s, peak: Number(hwm) * 1024, rss: Number(rss) * 1024, watched }));

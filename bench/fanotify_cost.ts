/**
 * What fanotify beside the BPF object costs a writer, side by side in one
 * run: ns per 1-byte append to a watched file (a flood of 1,000,000, the
 * fastest 1,024-call batch, bench/c/load.c `appendn`) and per 1-byte write
 * to an unwatched file, with no agent, the agent with fanotify off and the
 * agent with fanotify on, in interleaved rounds; and the agent's CPU
 * during each flood (it runs in this process).
 *
 *   sudo deno run -A bench/fanotify_cost.ts [ROUNDS]
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { asShipped, buildLoad, runLoad } from "./bench_env.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import type { Output } from "../src/outputs/output.ts";

// The agent runs in this process: as ./bpfink runs it.
await asShipped();

const N = 1_000_000;
const ROUNDS = Number(Deno.args[0] ?? 3);

class Count implements Output {
  readonly name = "count";
  n = 0;
  write(_e: ChangeEvent): void {
    this.n++;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function selfCpuS(): number {
  const f = Deno.readTextFileSync("/proc/self/stat");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

const dir = await Deno.makeTempDir({ prefix: "bpfink-fanotify-cost-" });
try {
  const load = await buildLoad(dir);
  const file = `${dir}/watched/app.conf`;
  const unwatched = `${dir}/other/unwatched`;
  await Deno.mkdir(`${dir}/watched`);
  await Deno.mkdir(`${dir}/other`);
  await Deno.writeTextFile(file, "");
  const conditions = ["no agent", "agent, fanotify off", "agent, fanotify on"] as const;
  const results = new Map<string, { u: number[]; w: number[]; cpu: number[]; events: number[] }>(
    conditions.map((c) => [c, { u: [], w: [], cpu: [], events: [] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of conditions) {
      const out = new Count();
      const agent = c === "no agent" ? undefined : await Agent.start({
        watches: watchesForPaths([file]),
        outputs: [out],
        fanotify: c === "agent, fanotify on",
      });
      try {
        await new Promise((r) => setTimeout(r, 500));
        const u = await runLoad(load, "write", unwatched, String(N));
        await Deno.writeTextFile(file, "");
        await agent?.idle();
        const cpu0 = selfCpuS();
        const w = await runLoad(load, "appendn", file, String(N));
        await new Promise((r) => setTimeout(r, 500)); // the agent catches up
        await agent?.idle();
        const r = results.get(c)!;
        r.u.push(u);
        r.w.push(w);
        r.cpu.push(selfCpuS() - cpu0);
        r.events.push(out.n);
      } finally {
        await agent?.stop();
      }
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = results.get("no agent")!;
  console.log(
    `| condition | ns per unwatched write | ratio | ns per watched append (flood) | ratio | agent CPU during the flood + 0.5 s | change events |`,
  );
  console.log(`| --- | --- | --- | --- | --- | --- | --- |`);
  for (const c of conditions) {
    const r = results.get(c)!;
    console.log(
      `| ${c} | ${med(r.u).toFixed(0)} | ${(med(r.u) / med(base.u)).toFixed(2)}× | ${
        med(r.w).toFixed(0)
      } | ${(med(r.w) / med(base.w)).toFixed(2)}× | ${
        c === "no agent" ? "-" : `${med(r.cpu).toFixed(2)} s`
      } | ${c === "no agent" ? "-" : med(r.events)} |`,
    );
  }
  console.log(`\n${ROUNDS} interleaved rounds, medians; ${N} calls per measure.`);
} finally {
  await Deno.remove(dir, { recursive: true });
}

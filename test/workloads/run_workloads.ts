/**
 * Runs every workload under one monitor: each workload's directory is made
 * before the monitor starts, then changed while it watches, and the
 * monitor's reports are judged against ground-truth snapshots.
 *
 * @module
 */
import { judge, type Verdict } from "./check.ts";
import type { Monitor } from "./monitors.ts";
import { diffSnapshots, snapshot } from "./snapshot.ts";
import { WORKLOADS } from "./workloads.ts";

/** One workload's verdict in one round. */
export interface WorkloadResult {
  round: number;
  workload: string;
  verdict: Verdict;
}

/** Runs `rounds` rounds of every workload in a fresh tree under `root` while `monitor` watches it. */
export async function runWorkloads(
  monitor: Monitor,
  root: string,
  rounds = 1,
): Promise<WorkloadResult[]> {
  const dirs: string[][] = [];
  for (let r = 0; r < rounds; r++) {
    dirs.push([]);
    for (const [i, w] of WORKLOADS.entries()) {
      const dir = `${root}/r${r}w${i}`;
      await Deno.mkdir(dir);
      await w.setup(dir);
      dirs[r].push(dir);
    }
  }
  const results: WorkloadResult[] = [];
  await monitor.start(root);
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [i, w] of WORKLOADS.entries()) {
        const dir = dirs[r][i];
        const before = await snapshot(dir);
        await monitor.begin(dir);
        await w.act(dir);
        const reports = await monitor.end(dir);
        const after = await snapshot(dir);
        const verdict = judge(before, after, diffSnapshots(before, after), reports, w.comms);
        results.push({ round: r + 1, workload: w.name, verdict });
      }
    }
  } finally {
    await monitor.stop();
  }
  return results;
}

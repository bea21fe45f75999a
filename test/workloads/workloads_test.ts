/**
 * The real-workload suite: `bpfink --paths ROOT -r --json`, as a user runs
 * it, watches a tree while real tools (git, rsync, tar, cp, sed, patch, vim,
 * mv, rm, ln, mkfifo, chmod, chown) change it. Ground-truth snapshots taken
 * before and after each workload say what really changed: every changed path
 * must be reported with a truthful action and the process that did it, and no
 * unchanged path may be reported as changed. Three rounds in a row
 * (`BPFINK_WORKLOAD_ROUNDS` to change).
 */
import { assert } from "../assert.ts";
import { tempDir } from "../helpers.ts";
import { BpfinkMonitor } from "./monitors.ts";
import { runWorkloads } from "./run_workloads.ts";

const ROUNDS = Number(Deno.env.get("BPFINK_WORKLOAD_ROUNDS") ?? "3");

Deno.test("workloads: real tools against ground truth, every change found and named, nothing invented", async () => {
  await using root = await tempDir("bpfink-workloads-");
  const bpfink = new BpfinkMonitor();
  const results = await runWorkloads(bpfink, root.path, ROUNDS);
  assert(bpfink.exitCode === 0, `bpfink exited ${bpfink.exitCode}: ${bpfink.log.join("\n")}`);
  const failures = results.flatMap(({ round, workload, verdict: v }) => {
    const bad = [
      // Nothing to find would pass vacuously: the ground truth must see the workload's change.
      ...(v.changed === 0 ? ["the workload changed nothing on disk"] : []),
      ...v.missed.map((m) => `missed ${m}`),
      ...v.falseReports.map((m) => `false ${m}`),
      ...v.unnamed.map((m) => `unnamed ${m}`),
    ];
    return bad.length ? [`round ${round} ${workload}:\n    ${bad.join("\n    ")}`] : [];
  });
  assert(failures.length === 0, `\n  ${failures.join("\n  ")}`);
});

/**
 * An unprivileged user churns names in a watched directory of their own
 * (as `~/.ssh` is watched), as fast as their processes can, while root
 * appends to a watched file elsewhere five times. Counts what the kernel
 * sent and dropped, the rescans the drops caused, and how many of root's
 * appends were reported naming root's writer, and how long after each
 * append its report came. Each run is a process of its own (`--run`); the
 * user is `nobody` through `setpriv`, the churn a perl loop of create and
 * unlink per process. Each run is made twice: with only those two watched,
 * and beside a watched tree of TREE files (default 20,000), whose ring is
 * sized past 4 MiB, so that the ring buffer's pump runs (src/bpf/ring_pump.ts).
 *
 *   sudo deno run -A bench/user_flood.ts [--ops 200000] [--flooders 2] [--runs 3] [--tree 20000]
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput } from "../test/helpers.ts";
import { writeGenerated } from "../test/generated_docs.ts";
import { median, shippedDeno, table } from "./bench_env.ts";
import { procUsage } from "./peers.ts";

interface FloodRun {
  flooders: number;
  ops: number;
  floodS: number;
  ringKiB: number;
  /** The pump's queue: its size and the most it held (KiB; 0: no pump). */
  queueKiB: number;
  queuePeakKiB: number;
  events: number;
  drops: number;
  rescans: number;
  /** Of `rescans`, those of every watch (the others re-read only the inodes the kernel held). */
  fullRescans: number;
  /** Watches the rescans re-read. */
  rescannedWatches: number;
  /** fanotify queue overflows (Agent.fanotifyOverflows), each a rescan of every watch. */
  fanOverflows?: number;
  /** The most bytes fanotify's pump held (KiB; 0: no pump). */
  fanPeakKiB?: number;
  /** CPU seconds of the agent's process from the flood's start until it was idle after it. */
  cpuS?: number;
  rootWrites: number;
  reported: number;
  named: number;
  /** Files of the watched tree beside them (0: none). */
  tree: number;
  /** Seconds from each root append's start to the first report naming its writer, when one came. */
  latencies: number[];
}

const NOBODY = 65534;
const ROOT_WRITES = 5;

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

/** The longest a run waits for root's reports after the flood. */
const REPORT_WAIT_MS = 60_000;

async function runOne(ops: number, flooders: number, tree: number): Promise<FloodRun> {
  const root = await Deno.makeTempDir({ prefix: "bpfink-flood-" });
  await Deno.chmod(root, 0o755);
  const userDir = `${root}/home/.ssh`;
  await Deno.mkdir(userDir, { recursive: true });
  await Deno.chown(userDir, NOBODY, NOBODY);
  await Deno.mkdir(`${root}/etc`);
  const file = `${root}/etc/shadow`;
  await Deno.writeTextFile(file, "root:x:1\n");
  if (tree) {
    await Deno.mkdir(`${root}/tree`);
    for (let d = 0; d < tree / 1000; d++) {
      await Deno.mkdir(`${root}/tree/d${d}`);
      for (let f = 0; f < 1000 && d * 1000 + f < tree; f++) {
        await Deno.writeTextFile(`${root}/tree/d${d}/f${f}`, `${f}\n`);
      }
    }
  }
  const out = new CaptureOutput();
  // When each report about root's file came (this process's clock).
  const came = new Map<number, number>();
  const agent = await Agent.start({
    watches: [
      ...watchesForPaths([userDir, file]),
      ...(tree ? watchesForPaths([`${root}/tree`], true) : []),
    ],
    outputs: [out, {
      name: "timing",
      write: (e) => {
        const pid = e.process?.pid;
        if (e.file?.path === file && pid !== undefined && !came.has(pid)) {
          came.set(pid, performance.now());
        }
      },
      close: () => Promise.resolve(),
    }],
    soleAgent: true,
  });
  try {
    const before = agent.kernel.counters();
    const cpu0 = procUsage(Deno.pid).cpuS; // the agent runs in this process
    const t0 = performance.now();
    const floods = [...Array(flooders).keys()].map((k) =>
      new Deno.Command("setpriv", {
        args: [
          ...["--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups"],
          ...[
            "perl",
            "-e",
            'for(1..$ARGV[0]){open F,">","$ARGV[1]$_";close F;unlink "$ARGV[1]$_"}',
          ],
          ...[String(ops), `${userDir}/x${k}_`],
        ],
      }).spawn()
    );
    const writers: number[] = [];
    const started: number[] = [];
    for (let i = 0; i < ROOT_WRITES; i++) {
      await new Promise((r) => setTimeout(r, 300));
      started.push(performance.now());
      const w = new Deno.Command("sh", { args: ["-c", 'echo "$2" >> "$1"', "sh", file, `l${i}`] })
        .spawn();
      writers.push(w.pid);
      await w.status;
    }
    for (const f of floods) {
      if (!(await f.status).success) throw new Error("a flooder failed");
    }
    const floodS = (performance.now() - t0) / 1000;
    const after = agent.kernel.counters();
    const waited = performance.now();
    while (
      performance.now() - waited < REPORT_WAIT_MS && !writers.every((pid) => came.has(pid))
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 3000));
    await agent.idle();
    const cpuS = procUsage(Deno.pid).cpuS - cpu0;
    const reports = out.changes(file);
    return {
      flooders,
      ops,
      floodS,
      ringKiB: agent.kernel.ringBytes / 1024,
      queueKiB: agent.kernel.ringQueue.bytes / 1024,
      queuePeakKiB: agent.kernel.ringQueue.peak / 1024,
      events: Number(after.events - before.events),
      drops: Number(after.drops - before.drops),
      rescans: agent.rescans,
      fullRescans: agent.rescans - agent.heldRescans,
      rescannedWatches: agent.rescannedWatches,
      fanOverflows: agent.fanotifyOverflows,
      fanPeakKiB: (agent.fanotifyQueue?.peak ?? 0) / 1024,
      cpuS,
      rootWrites: ROOT_WRITES,
      reported: reports.length,
      named: reports.filter((e) => writers.includes(e.process?.pid ?? -1)).length,
      tree,
      latencies: writers.flatMap((pid, i) =>
        came.has(pid) ? [(came.get(pid)! - started[i]) / 1000] : []
      ),
    };
  } finally {
    await agent.stop();
    await Deno.remove(root, { recursive: true });
  }
}

const ops = arg("--ops", 200_000);
const flooders = arg("--flooders", 2);
const treeFiles = arg("--tree", 20_000);
if (Deno.args[0] === "--run") {
  console.log(JSON.stringify(await runOne(ops, flooders, arg("--this-tree", 0))));
  Deno.exit(0);
}
const rows: FloodRun[] = [];
for (const tree of [0, treeFiles]) {
  for (let i = 0; i < arg("--runs", 3); i++) {
    const args = ["--run", ...Deno.args, "--this-tree", String(tree)];
    const child = await shippedDeno(import.meta.url, args, {
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!child.success) throw new Error(`run ${i + 1} failed`);
    const r = JSON.parse(new TextDecoder().decode(child.stdout)) as FloodRun;
    console.error(JSON.stringify(r));
    rows.push(r);
  }
}
const latency = (r: FloodRun) =>
  r.latencies.length
    ? `${median(r.latencies).toFixed(2)} s, ${Math.max(...r.latencies).toFixed(2)} s`
    : "-";
const n = (x: number) => x.toLocaleString("en");
const md = [
  `### An unprivileged user's churn beside root's writes (kernel ${Deno.osRelease()})`,
  "",
  table(
    [
      "watched beside them",
      "flooders × creates and unlinks",
      "seconds",
      "kernel's ring",
      "pump's queue: size, most held",
      "kernel events",
      "dropped",
      "rescans (of every watch)",
      "watches rescanned",
      "fanotify: overflows, most its pump held",
      "agent's CPU",
      "root's appends",
      "reported",
      "naming root's writer",
      "root's reports after (median, most)",
    ],
    rows.map((r) => [
      r.tree ? `a tree of ${n(r.tree)} files` : "nothing",
      `${r.flooders} × ${n(r.ops)}`,
      r.floodS.toFixed(1),
      `${n(r.ringKiB)} KiB`,
      r.queueKiB ? `${n(r.queueKiB)} KiB, ${n(Math.round(r.queuePeakKiB))} KiB` : "none",
      n(r.events),
      n(r.drops),
      `${r.rescans} (${r.fullRescans})`,
      n(r.rescannedWatches),
      `${r.fanOverflows ?? "-"}, ${n(Math.round(r.fanPeakKiB ?? 0))} KiB`,
      r.cpuS === undefined ? "-" : `${r.cpuS.toFixed(1)} s`,
      String(r.rootWrites),
      String(r.reported),
      String(r.named),
      latency(r),
    ]),
  ),
  "",
  "`nobody` creates and unlinks files in a watched directory it owns, while root appends to a " +
  "watched file elsewhere, five times 0.3 s apart; a row per run, each agent in a process of its " +
  "own. Beside a watched tree of " + n(treeFiles) + " files the ring is sized past 4 MiB, so " +
  "that its pump runs (the kernel's ring stays at 4 MiB, the rest is the pump's queue). A report " +
  "comes after the time from its append's start to the first report naming that append's writer. " +
  "A rescan after drops re-reads every watch only when a drop left nothing held to go by; " +
  "otherwise only the held inodes (the user's directory, root's file). Each overflow of " +
  "fanotify's queue in the kernel (16,384 events; the safety net's marks on the watched files and " +
  "directories) rescans every watch too; its pump (src/fanotify/fd_pump.ts) reads that queue off " +
  "the main thread into one of at most 32 MiB. The agent's CPU is its process's, from the flood's " +
  "start until it was idle after it.",
].join("\n");
console.log(md);
await writeGenerated(
  "user_flood",
  "bench/results/user_flood.md",
  "bpfink under an unprivileged user's churn",
  md,
  `Generated by \`deno run -A bench/user_flood.ts\` on ${new Date().toISOString().slice(0, 10)}.`,
);

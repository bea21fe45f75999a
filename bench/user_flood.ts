/**
 * An unprivileged user churns names in a watched directory of their own
 * (as `~/.ssh` is watched), as fast as their processes can, while root
 * appends to a watched file elsewhere five times. Counts what the kernel
 * sent and dropped, the rescans the drops caused, and how many of root's
 * appends were reported naming root's writer. Each run is a process of its
 * own (`--run`); the user is `nobody` through `setpriv`, the churn a perl
 * loop of create and unlink per process.
 *
 *   sudo deno run -A bench/user_flood.ts [--ops 200000] [--flooders 2] [--runs 3]
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput } from "../test/helpers.ts";
import { writeGenerated } from "../test/generated_docs.ts";
import { table } from "./bench_env.ts";

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
  rootWrites: number;
  reported: number;
  named: number;
}

const NOBODY = 65534;
const ROOT_WRITES = 5;

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

async function runOne(ops: number, flooders: number): Promise<FloodRun> {
  const root = await Deno.makeTempDir({ prefix: "bpfink-flood-" });
  await Deno.chmod(root, 0o755);
  const userDir = `${root}/home/.ssh`;
  await Deno.mkdir(userDir, { recursive: true });
  await Deno.chown(userDir, NOBODY, NOBODY);
  await Deno.mkdir(`${root}/etc`);
  const file = `${root}/etc/shadow`;
  await Deno.writeTextFile(file, "root:x:1\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([userDir, file]),
    outputs: [out],
    soleAgent: true,
  });
  try {
    const before = agent.kernel.counters();
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
    for (let i = 0; i < ROOT_WRITES; i++) {
      await new Promise((r) => setTimeout(r, 300));
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
    await new Promise((r) => setTimeout(r, 3000));
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
      rootWrites: ROOT_WRITES,
      reported: reports.length,
      named: reports.filter((e) => writers.includes(e.process?.pid ?? -1)).length,
    };
  } finally {
    await agent.stop();
    await Deno.remove(root, { recursive: true });
  }
}

const ops = arg("--ops", 200_000);
const flooders = arg("--flooders", 2);
if (Deno.args[0] === "--run") {
  console.log(JSON.stringify(await runOne(ops, flooders)));
  Deno.exit(0);
}
const rows: FloodRun[] = [];
for (let i = 0; i < arg("--runs", 3); i++) {
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--run", ...Deno.args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!child.success) throw new Error(`run ${i + 1} failed`);
  const r = JSON.parse(new TextDecoder().decode(child.stdout)) as FloodRun;
  console.error(JSON.stringify(r));
  rows.push(r);
}
const n = (x: number) => x.toLocaleString("en");
const md = [
  `### An unprivileged user's churn beside root's writes (kernel ${Deno.osRelease()})`,
  "",
  table(
    [
      "flooders × creates and unlinks",
      "seconds",
      "kernel's ring",
      "pump's queue: size, most held",
      "kernel events",
      "dropped",
      "rescans",
      "root's appends",
      "reported",
      "naming root's writer",
    ],
    rows.map((r) => [
      `${r.flooders} × ${n(r.ops)}`,
      r.floodS.toFixed(1),
      `${n(r.ringKiB)} KiB`,
      r.queueKiB ? `${n(r.queueKiB)} KiB, ${n(Math.round(r.queuePeakKiB))} KiB` : "none",
      n(r.events),
      n(r.drops),
      String(r.rescans),
      String(r.rootWrites),
      String(r.reported),
      String(r.named),
    ]),
  ),
  "",
  "`nobody` creates and unlinks files in a watched directory it owns, while root appends to a " +
  "watched file elsewhere; a row per run, each agent in a process of its own.",
].join("\n");
console.log(md);
await writeGenerated(
  "user_flood",
  "bench/results/user_flood.md",
  "bpfink under an unprivileged user's churn",
  md,
  `Generated by \`deno run -A bench/user_flood.ts\` on ${new Date().toISOString().slice(0, 10)}.`,
);

/**
 * Every watched file changed at once: one shell appends a line to each of N
 * watched files as fast as it can (one kernel event per file: its write), while the
 * agent watches the tree. Counts what the kernel sent and dropped, the
 * reports, how many name the shell, the rescans the drops caused, the
 * fanotify queue's overflows (each a rescan of every watch), when the
 * last report came, and the longest stall of the agent's event loop (which
 * also reads the ring buffer: a stall is what makes the kernel drop).
 *
 *   sudo deno run -A bench/mass_change.ts [--files 100000] [--runs 3]
 *
 * Each run is a process of its own (`--run ROOT`). Writes
 * bench/results/mass_change.md and the README's mass_change section (for
 * the default sizes only).
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { writeGenerated } from "../test/generated_docs.ts";
import { shippedDeno, table } from "./bench_env.ts";

/** What one run prints. */
interface MassRun {
  files: number;
  ringMiB: number;
  /** The pump's queue: its size and the most it held (MiB; 0: no pump). */
  queueMiB: number;
  queuePeakMiB: number;
  writerS: number;
  events: number;
  drops: number;
  reports: number;
  named: number;
  rescans: number;
  /** fanotify queue overflows (Agent.fanotifyOverflows), each a rescan of every watch. */
  fanOverflows: number;
  /** The most bytes fanotify's pump held (0: no pump). */
  fanPeakMiB: number;
  lastReportS: number;
  stallMs: number;
}

const arg = (name: string, fallback: number) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
};

async function runOne(root: string, files: number): Promise<MassRun> {
  let reports = 0;
  let named = 0;
  let lastReport = 0;
  let writerPid = -1;
  const agent = await Agent.start({
    watches: watchesForPaths([root], true).map((w) => ({ ...w, diffMaxBytes: 0 })),
    outputs: [{
      name: "count",
      write: (e) => {
        reports++;
        lastReport = performance.now();
        const pid = (e as { process?: { pid?: number } }).process?.pid;
        if (pid !== undefined && pid === writerPid) named++;
      },
      close: () => Promise.resolve(),
    }],
  });
  // Armed and idle before the change starts.
  await new Promise((r) => setTimeout(r, 1000));
  const ringMiB = agent.kernel.ringBytes / 1048576;
  const before = agent.kernel.counters();
  const rescansBefore = agent.rescans;
  const overflowsBefore = agent.fanotifyOverflows;
  reports = 0;
  let stallMs = 0;
  let tick = performance.now();
  const stalls = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - tick - 10);
    tick = now;
  }, 10);
  const t0 = performance.now();
  const writer = new Deno.Command("sh", {
    args: ["-c", 'while read -r f; do echo x >> "$f"; done < "$1"', "sh", `${root}.list`],
  }).spawn();
  writerPid = writer.pid;
  const status = await writer.status;
  const writerS = (performance.now() - t0) / 1000;
  if (!status.success) throw new Error("the writer failed");
  // Done when every file was reported, or nothing came for 5 s.
  while (reports < files && performance.now() - Math.max(lastReport, t0) < 5000) {
    await new Promise((r) => setTimeout(r, 100));
  }
  clearInterval(stalls);
  const after = agent.kernel.counters();
  const queue = agent.kernel.ringQueue;
  const run: MassRun = {
    files,
    ringMiB,
    queueMiB: queue.bytes / 1048576,
    queuePeakMiB: queue.peak / 1048576,
    writerS,
    events: Number(after.events - before.events),
    drops: Number(after.drops - before.drops),
    reports,
    named,
    rescans: agent.rescans - rescansBefore,
    fanOverflows: agent.fanotifyOverflows - overflowsBefore,
    fanPeakMiB: (agent.fanotifyQueue?.peak ?? 0) / 1048576,
    lastReportS: (lastReport - t0) / 1000,
    stallMs,
  };
  await agent.stop();
  return run;
}

if (Deno.args[0] === "--run") {
  const root = Deno.args[1];
  console.log(JSON.stringify(await runOne(root, Number(Deno.args[2]))));
  Deno.exit(0);
}

const sizes = Deno.args.includes("--files") ? [arg("--files", 100_000)] : [10_000, 100_000];
const runs = arg("--runs", 3);
const rows: MassRun[] = [];
for (const files of sizes) {
  const root = await Deno.makeTempDir({ prefix: "bpfink-mass-" });
  try {
    const list: string[] = [];
    const perDir = Math.ceil(files / 100);
    for (let d = 0; d < 100; d++) {
      await Deno.mkdir(`${root}/d${d}`);
      for (let f = 0; f < perDir && d * perDir + f < files; f++) {
        await Deno.writeTextFile(`${root}/d${d}/f${f}`, "a line\n");
        list.push(`${root}/d${d}/f${f}`);
      }
    }
    await Deno.writeTextFile(`${root}.list`, list.join("\n") + "\n");
    for (let i = 0; i < runs; i++) {
      const child = await shippedDeno(import.meta.url, ["--run", root, String(files)], {
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!child.success) throw new Error(`run ${i + 1} of ${files} files failed`);
      const r = JSON.parse(new TextDecoder().decode(child.stdout)) as MassRun;
      console.error(JSON.stringify(r));
      rows.push(r);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(`${root}.list`).catch(() => {});
  }
}

const n = (x: number) => x.toLocaleString("en");
const md = [
  `### Every watched file changed at once (kernel ${Deno.osRelease()})`,
  "",
  table(
    [
      "files",
      "kernel's ring",
      "pump's queue: size, most held",
      "writer's seconds",
      "kernel events",
      "dropped",
      "reports",
      "naming the writer",
      "rescans",
      "fanotify: overflows, most its pump held",
      "last report after",
      "longest event-loop stall",
    ],
    rows.map((r) => [
      n(r.files),
      `${r.ringMiB} MiB`,
      r.queueMiB ? `${r.queueMiB} MiB, ${r.queuePeakMiB.toFixed(1)} MiB` : "none",
      r.writerS.toFixed(1),
      n(r.events),
      n(r.drops),
      n(r.reports),
      n(r.named),
      String(r.rescans),
      `${r.fanOverflows}, ${r.fanPeakMiB.toFixed(1)} MiB`,
      `${r.lastReportS.toFixed(1)} s`,
      `${Math.round(r.stallMs)} ms`,
    ]),
  ),
  "",
  "One shell appends a line to each watched file (`echo x >> f`: one kernel event a file, its " +
  "write; its open with O_CREAT created nothing, so it sends no name event), while " +
  "`bpfink` (the agent in a process of its own, hashes only) watches the tree recursively; a row " +
  "per run. The pump (src/bpf/ring_pump.ts) moves the kernel's ring's records into its queue off the " +
  "agent's main thread; what the queue cannot take stays in the ring, and what the ring cannot take " +
  "is dropped. A dropped event is still found, by a rescan, which names its process (the kernel " +
  "keeps a write's writer in the file's pending entry, a name event's process in its directory's). " +
  "fanotify's safety net has a queue of its own in the kernel (16,384 events): each overflow of it " +
  "rescans every watch. Its pump (src/fanotify/fd_pump.ts) reads it off the main thread into a " +
  "queue of at most 32 MiB.",
].join("\n");
console.log(md);
if (!Deno.args.includes("--files")) {
  const stamp = `Generated by \`deno run -A bench/mass_change.ts\` on ${
    new Date().toISOString().slice(0, 10)
  }.`;
  await writeGenerated(
    "mass_change",
    "bench/results/mass_change.md",
    "bpfink under a mass change",
    md,
    stamp,
  );
}

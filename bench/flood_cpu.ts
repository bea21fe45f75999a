/**
 * What a flood of writes to one watched file costs the agent, side by side
 * in one run: `bpfink --paths FILE --json` (this tree's `bpfink` script, and
 * with `--against REF` the same script from a checkout of git commit REF;
 * the option may be given more than once, and ratios are to the first),
 * in alternating rounds so that the machine's other load hits both sides
 * alike. Each round starts the agent, lets it settle, and runs FLOODS floods
 * of APPENDS 1-byte appends (bench/c/load.c `appendn`, one fd held open
 * through the flood, the file emptied before each, as bench/peers.ts does),
 * PAUSE ms apart (longer than the 250 ms the agent remembers a busy file:
 * each flood starts on a quiet file);
 * the agent's CPU (user + system, /proc/PID/stat) is read before the first
 * flood and once the reports have stopped after the last. Prints, per side
 * and round, CPU seconds per flood, reports per flood and CPU milliseconds
 * per report, then the medians and the ratios of each side to the first.
 *
 *   sudo deno run -A bench/flood_cpu.ts [--against REF] [--rounds 3] [--floods 30] [--appends 50000] [--pause 500]
 *
 * A bench prints numbers; nothing here is a timed assertion.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildLoad, median, runLoad } from "./bench_env.ts";
import { procUsage } from "./peers.ts";
import { spawnUntil } from "./spawn_until.ts";
import { checkout } from "./checkout.ts";

const ROOT = new URL("..", import.meta.url).pathname;

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    against: { type: "string", multiple: true },
    rounds: { type: "string", default: "3" },
    floods: { type: "string", default: "30" },
    appends: { type: "string", default: "50000" },
    pause: { type: "string", default: "500" },
  },
});
const ROUNDS = Number(args.rounds);
const FLOODS = Number(args.floods);
const APPENDS = Number(args.appends);
const PAUSE_MS = Number(args.pause);
for (
  const [name, n] of [
    ["rounds", ROUNDS],
    ["floods", FLOODS],
    ["appends", APPENDS],
    ["pause", PAUSE_MS],
  ] as const
) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`flood_cpu: --${name} must be a positive whole number, not "${args[name]}".`);
    Deno.exit(2);
  }
}

/** One side of the comparison: a tree whose `bpfink` script runs the agent. */
interface Side {
  name: string;
  root: string;
}

interface Round {
  cpuS: number;
  reports: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One round of `side`: the agent's CPU over FLOODS floods and the reports of the file. */
async function round(side: Side, file: string, load: string): Promise<Round> {
  await Deno.writeTextFile(file, "");
  const agent = await spawnUntil(
    [`${side.root}bpfink`, "--paths", file, "--json"],
    /"started"/,
    { timeoutMs: 600_000, count: /"action":"(modified|touched)".*app\.conf/ },
  );
  try {
    await sleep(1000);
    const cpu0 = procUsage(agent.pid).cpuS;
    const reports0 = agent.counted!();
    for (let i = 0; i < FLOODS; i++) {
      await Deno.writeTextFile(file, "");
      await runLoad(load, "appendn", file, String(APPENDS));
      await sleep(PAUSE_MS);
    }
    // Until the reports stop (the last re-read waits at most 250 ms), then a little more.
    let seen = -1;
    while (agent.counted!() !== seen) {
      seen = agent.counted!();
      await sleep(600);
    }
    return { cpuS: procUsage(agent.pid).cpuS - cpu0, reports: agent.counted!() - reports0 };
  } finally {
    await agent.stop();
  }
}

const dir = await Deno.makeTempDir({ prefix: "bpfink-flood-cpu-" });
try {
  const load = await buildLoad(dir);
  Deno.mkdirSync(`${dir}/watched`);
  const file = `${dir}/watched/app.conf`;
  const sides: Side[] = [];
  for (const ref of args.against ?? []) {
    sides.push({ name: ref, root: `${await checkout(ref, dir)}/` });
  }
  sides.push({ name: "this tree", root: ROOT });
  const results = new Map<string, Round[]>(sides.map((s) => [s.name, []]));
  const load1 = Deno.loadavg()[0];
  console.log(
    `${FLOODS} floods of ${APPENDS.toLocaleString("en")} appends per round, ${ROUNDS} rounds, ` +
      `kernel ${Deno.osRelease()}, load average ${load1.toFixed(2)} at start`,
  );
  console.log("| side | round | CPU s per flood | reports per flood | CPU ms per report |");
  console.log("| ---- | ----- | --------------- | ----------------- | ----------------- |");
  for (let r = 1; r <= ROUNDS; r++) {
    // Alternate which side goes first, so a trend in the load does not favour one.
    for (const side of r % 2 ? sides : [...sides].reverse()) {
      const res = await round(side, file, load);
      results.get(side.name)!.push(res);
      console.log(
        `| ${side.name} | ${r} | ${(res.cpuS / FLOODS).toFixed(4)} | ${
          (res.reports / FLOODS).toFixed(2)
        } | ${((res.cpuS / res.reports) * 1000).toFixed(2)} |`,
      );
    }
  }
  const summary = (rs: Round[]) => ({
    perFlood: median(rs.map((x) => x.cpuS / FLOODS)),
    reports: median(rs.map((x) => x.reports / FLOODS)),
    perReport: median(rs.map((x) => (x.cpuS / x.reports) * 1000)),
  });
  console.log(
    `\nmedians (load average ${Deno.loadavg()[0].toFixed(2)} at the end):\n` +
      "| side | CPU s per flood | reports per flood | CPU ms per report |\n" +
      "| ---- | --------------- | ----------------- | ----------------- |",
  );
  const sums = sides.map((s) => ({ name: s.name, ...summary(results.get(s.name)!) }));
  for (const s of sums) {
    console.log(
      `| ${s.name} | ${s.perFlood.toFixed(4)} | ${s.reports.toFixed(2)} | ${
        s.perReport.toFixed(2)
      } |`,
    );
  }
  const [old, ...rest] = sums;
  for (const now of rest) {
    console.log(
      `${now.name} / ${old.name}: CPU per flood ${(now.perFlood / old.perFlood).toFixed(2)}×, ` +
        `reports per flood ${(now.reports / old.reports).toFixed(2)}×, ` +
        `CPU per report ${(now.perReport / old.perReport).toFixed(2)}×`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

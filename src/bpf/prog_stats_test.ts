/** Run-time statistics of bpfink's own programs, on this machine's kernel (root). */
import { assert, assertEquals } from "../../test/assert.ts";
import { EMBEDDED_OBJECTS } from "../../kernels/build/embedded.ts";
import { loadLibbpf } from "../agent/open_kernel.ts";
import type { FimKernel } from "../kernel/fim_kernel.ts";
import { loadedProgramStats, RunTimeStats } from "./prog_stats.ts";
import { chooseStrategy } from "../kernel/strategy_choice.ts";
import { readKernelFacts } from "../kernel/kernel_facts.ts";

Deno.test("each attached program reports the runs and run time the kernel counted", async () => {
  const lib = loadLibbpf();
  const choice = await chooseStrategy(lib, readKernelFacts(), {
    objects: EMBEDDED_OBJECTS,
    onEvent: () => {},
  });
  const kernel: FimKernel = choice.kernel!;
  const dir = await Deno.makeTempDir({ prefix: "bpfink-progstats-" });
  try {
    const before = kernel.programStats();
    assertEquals(before.length, kernel.attached.length);
    using _ = RunTimeStats.enable(lib);
    // 2000 writes by a child process, which every write program sees.
    const dd = await new Deno.Command("dd", {
      args: ["if=/dev/zero", `of=${dir}/f`, "bs=1", "count=2000", "status=none"],
    }).output();
    assert(dd.success);
    const after = kernel.programStats();
    const gained = after.map((a, i) => ({
      name: a.name,
      runs: a.runCount - before[i].runCount,
      ns: a.runTimeNs - before[i].runTimeNs,
    }));
    const busiest = gained.reduce((x, y) => (y.runs > x.runs ? y : x));
    assert(busiest.runs >= 2000n, JSON.stringify(gained, (_, v) => String(v)));
    assert(busiest.ns > 0n, `${busiest.name} ran ${busiest.runs} times in 0 ns`);
    // The machine-wide listing finds the same programs by id.
    const ids = new Set(after.map((a) => a.id));
    const listed = loadedProgramStats(lib, () => true).filter((s) => ids.has(s.id));
    assertEquals(listed.map((s) => s.id).sort(), [...ids].sort());
  } finally {
    await kernel.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the agent exports its programs' runs and run time as Prometheus metrics", async () => {
  const { Agent, watchesForPaths } = await import("../agent/agent.ts");
  const dir = await Deno.makeTempDir({ prefix: "bpfink-progstats-" });
  await Deno.writeTextFile(`${dir}/watched`, "x\n");
  const agent = await Agent.start({
    watches: watchesForPaths([`${dir}/watched`]),
    outputs: [],
    bpfStats: true,
  });
  try {
    const dd = await new Deno.Command("dd", {
      args: ["if=/dev/zero", `of=${dir}/other`, "bs=1", "count=1000", "status=none"],
    }).output();
    assert(dd.success);
    const text = agent.metrics.prometheusText();
    assert(text.includes("bpfink_bpf_stats_enabled 1"), text);
    const runs = [...text.matchAll(/^bpfink_bpf_program_runs_total\{[^}]*\} (\d+)$/gm)]
      .map((m) => Number(m[1]));
    assertEquals(runs.length, agent.kernel.attached.length);
    assert(Math.max(...runs) >= 1000, text);
    assert(/^bpfink_bpf_program_run_seconds_total\{[^}]*\} [0-9.e-]+$/m.test(text), text);
  } finally {
    await agent.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bpfink kernels --stats shows what a running agent's programs cost", async () => {
  const { Agent, watchesForPaths } = await import("../agent/agent.ts");
  const dir = await Deno.makeTempDir({ prefix: "bpfink-progstats-" });
  await Deno.writeTextFile(`${dir}/watched`, "x\n");
  const agent = await Agent.start({ watches: watchesForPaths([`${dir}/watched`]), outputs: [] });
  try {
    const ids = agent.kernel.programStats().map((s) => s.id);
    const root = new URL("../..", import.meta.url).pathname;
    const cli = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${root}src/main.ts`, "kernels", "--json", "--stats", "3"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Writes all along the window (the command tries every object first).
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await new Deno.Command("dd", {
          args: ["if=/dev/zero", `of=${dir}/other`, "bs=1", "count=500", "status=none"],
        }).output();
      }
    })();
    const out = await cli.output();
    writing = false;
    await writer;
    const report = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      running: { id: number; name: string; runs: number; nsPerRun: number }[];
    };
    const mine = report.running.filter((p) => ids.includes(p.id));
    assertEquals(mine.length, ids.length, new TextDecoder().decode(out.stderr));
    const busiest = mine.reduce((x, y) => (y.runs > x.runs ? y : x));
    assert(busiest.runs >= 500 && busiest.nsPerRun > 0, JSON.stringify(mine));
  } finally {
    await agent.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bpfink kernels --stats refuses a window that is not a number of seconds", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${root}src/main.ts`, "kernels", "--stats", "soon"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2);
  const err = new TextDecoder().decode(out.stderr);
  assert(err.includes("--stats takes a number of seconds") && !err.includes("    at "), err);
});

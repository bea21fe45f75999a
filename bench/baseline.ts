/**
 * The first baseline of a large tree: a generated tree of N files (default
 * 100,000) is watched recursively; bpfink's time to read and hash it all, and
 * its peak RSS, beside `sha256sum` over the same files as the floor.
 *
 *   sudo deno run -A bench/baseline.ts [--files 100000]
 *
 * @module
 */
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { processUsage } from "../src/metrics/metrics_registry.ts";
import { table } from "./bench_env.ts";

const i = Deno.args.indexOf("--files");
const files = i >= 0 ? Number(Deno.args[i + 1]) : 100_000;
const root = await Deno.makeTempDir({ prefix: "bpfink-baseline-" });
try {
  // 100 directories of files from 0 to 8 KiB: a config-tree-like mix.
  let bytes = 0;
  const perDir = Math.ceil(files / 100);
  for (let d = 0; d < 100; d++) {
    await Deno.mkdir(`${root}/d${d}`);
    for (let f = 0; f < perDir && d * perDir + f < files; f++) {
      const size = (d * perDir + f) * 7919 % 8192;
      await Deno.writeFile(`${root}/d${d}/f${f}`, new Uint8Array(size).fill(f & 0xff));
      bytes += size;
    }
  }
  await new Deno.Command("sync").output();
  // Floor: sha256sum over the same files (warm cache for both: read everything once first).
  await new Deno.Command("sh", {
    args: ["-c", `find ${root} -type f -print0 | xargs -0 cat > /dev/null`],
  }).output();
  const t0 = performance.now();
  const sum = await new Deno.Command("sh", {
    args: ["-c", `find ${root} -type f -print0 | xargs -0 -P1 -n 2000 sha256sum > /dev/null`],
  }).output();
  const floorS = (performance.now() - t0) / 1000;
  if (!sum.success) throw new Error("sha256sum failed");

  const runs: { label: string; s: number; peak: number; watched: number }[] = [];
  for (const diff of [false, true]) {
    let peak = processUsage().rssBytes;
    const sampler = setInterval(() => (peak = Math.max(peak, processUsage().rssBytes)), 50);
    const t1 = performance.now();
    const watches = watchesForPaths([root], true).map((w) => ({
      ...w,
      diffMaxBytes: diff ? w.diffMaxBytes : 0,
    }));
    const agent = await Agent.start({
      watches,
      outputs: [{ name: "none", write: () => {}, close: () => Promise.resolve() }],
    });
    const s = (performance.now() - t1) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, processUsage().rssBytes);
    runs.push({
      label: diff
        ? "bpfink start, line diffs on (text kept for diffs)"
        : "bpfink start, `diff_max_bytes: 0` (hashes only)",
      s,
      peak,
      watched: agent.watch.present,
    });
    await agent.stop();
  }
  const mb = bytes / 1048576;
  const md = [
    `### First baseline of ${files.toLocaleString("en")} files (${
      mb.toFixed(0)
    } MiB), kernel ${Deno.osRelease()}`,
    "",
    table(["what", "seconds", "files/s", "MiB/s", "ratio to sha256sum", "peak RSS"], [
      [
        "sha256sum (floor)",
        floorS.toFixed(2),
        Math.round(files / floorS).toLocaleString("en"),
        (mb / floorS).toFixed(1),
        "1.00×",
        "-",
      ],
      ...runs.map((r) => [
        `${r.label}; ${r.watched} paths`,
        r.s.toFixed(2),
        Math.round(files / r.s).toLocaleString("en"),
        (mb / r.s).toFixed(1),
        `${(r.s / floorS).toFixed(2)}×`,
        `${(r.peak / 1048576).toFixed(0)} MiB`,
      ]),
    ]),
    "",
    "Each bpfink run watches, stats, hashes (node:crypto sha256) and records every file in SQLite (in memory " +
    "here, as in interactive mode). Peak RSS is the whole process, so the second run includes the first.",
    "",
  ].join("\n");
  console.log(md);
} finally {
  await Deno.remove(root, { recursive: true });
}

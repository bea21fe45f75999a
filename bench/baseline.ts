/**
 * The first baseline of a large tree: a generated tree of N files (default
 * 100,000) is watched recursively; bpfink's time to read and hash it all, and
 * its peak RSS, beside `sha256sum` over the same files as the floor.
 *
 *   sudo deno run -A bench/baseline.ts [--files 100000]
 *
 * It also starts the shipped single file (dist/bpfink, `deno task build` first)
 * on the tree as a user would, `--paths TREE -r`, until its started line.
 *
 * A run at the default size writes bench/results/baseline.md and the README's
 * baseline section.
 *
 * @module
 */
import { writeGenerated } from "../test/generated_docs.ts";
import { procStatusBytes, table } from "./bench_env.ts";
import { spawnUntil } from "./spawn_until.ts";

const i = Deno.args.indexOf("--files");
const files = i >= 0 ? Number(Deno.args[i + 1]) : 100_000;
const DIST = new URL("../dist/bpfink", import.meta.url).pathname;
try {
  Deno.statSync(DIST);
} catch {
  console.error(`bench/baseline.ts: ${DIST} is missing: run deno task build first`);
  Deno.exit(1);
}
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
  // The floor runs before and after bpfink; the faster counts (other load only adds time).
  const sha256sum = async () => {
    const t0 = performance.now();
    const sum = await new Deno.Command("sh", {
      args: ["-c", `find ${root} -type f -print0 | xargs -0 -P1 -n 2000 sha256sum > /dev/null`],
    }).output();
    if (!sum.success) throw new Error("sha256sum failed");
    return (performance.now() - t0) / 1000;
  };
  const floorBefore = await sha256sum();

  /** What bench/baseline_run.ts prints for one mode. */
  interface RunResult {
    s: number;
    peak: number;
    rss: number;
    watched: number;
    kernelS: number;
    heap: number;
    ring: number;
    file: number;
  }

  // Each mode in its own process, so that its peak RSS is its own, run as ./bpfink runs the
  // agent (its malloc arenas and V8 flags), from a copy of Deno's binary: on a host no other
  // process maps the agent's runtime, while this bench's own Deno would share (and keep
  // resident) the pages of the same file.
  const runtime = `${root}.deno`;
  await Deno.copyFile(Deno.execPath(), runtime);
  const runs: (RunResult & { label: string })[] = [];
  for (const diff of [false, true]) {
    const child = await new Deno.Command(runtime, {
      args: [
        "run",
        "-A",
        "--no-code-cache",
        "--v8-flags=--max-opt=2",
        new URL("./baseline_run.ts", import.meta.url).pathname,
        root,
        String(diff),
      ],
      env: { MALLOC_ARENA_MAX: "2" },
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!child.success) {
      throw new Error(`baseline_run.ts ${diff ? "with" : "without"} diffs failed`);
    }
    const r = JSON.parse(new TextDecoder().decode(child.stdout)) as RunResult;
    runs.push({
      label: diff
        ? "bpfink start, line diffs on (text kept for diffs)"
        : "bpfink start, `diff_max_bytes: 0` (hashes only)",
      ...r,
    });
  }
  // The shipped single file as people start it on a tree, to its started line. One start on
  // one file first: as root its runtime is unpacked into /var/cache/bpfink once, not timed.
  const started = /"action":"started"/;
  await (await spawnUntil([DIST, "--paths", "/etc/hostname", "--json"], started)).stop();
  const t0 = performance.now();
  const dist = await spawnUntil([DIST, "--paths", root, "-r", "--json"], started, {
    timeoutMs: 600_000,
  });
  const distS = (performance.now() - t0) / 1000;
  const line = dist.output!().split("\n").find((l) => started.test(l))!;
  const startRead = JSON.parse(line).bpfink.start_read as { paths: number; workers: number };
  await new Promise((r) => setTimeout(r, 2000));
  const distRss = procStatusBytes(dist.pid, "VmRSS");
  const distPeak = procStatusBytes(dist.pid, "VmHWM");
  await dist.stop();
  const floorS = Math.min(floorBefore, await sha256sum());
  const mb = bytes / 1048576;
  const title = `First baseline of ${files.toLocaleString("en")} files (${
    mb.toFixed(0)
  } MiB), kernel ${Deno.osRelease()}`;
  const md = [
    `### ${title}`,
    "",
    table([
      "what",
      "seconds",
      "of which kernel object",
      "files/s",
      "MiB/s",
      "ratio to sha256sum",
      "peak RSS",
      "RSS armed",
      "of which ring buffer",
      "of which JS heap",
      "of which file-backed",
    ], [
      [
        "sha256sum (floor: the faster of a run before and one after bpfink)",
        floorS.toFixed(2),
        "-",
        Math.round(files / floorS).toLocaleString("en"),
        (mb / floorS).toFixed(1),
        "1.00×",
        "-",
        "-",
        "-",
        "-",
        "-",
      ],
      ...runs.map((r) => [
        `${r.label}; ${r.watched} paths`,
        r.s.toFixed(2),
        r.kernelS.toFixed(2),
        Math.round(files / r.s).toLocaleString("en"),
        (mb / r.s).toFixed(1),
        `${(r.s / floorS).toFixed(2)}×`,
        `${(r.peak / 1048576).toFixed(0)} MiB`,
        `${(r.rss / 1048576).toFixed(0)} MiB`,
        `${(r.ring / 1048576).toFixed(0)} MiB`,
        `${(r.heap / 1048576).toFixed(0)} MiB`,
        `${(r.file / 1048576).toFixed(0)} MiB`,
      ]),
      [
        `dist/bpfink --paths TREE -r (the shipped file, its defaults; ${startRead.workers} ` +
        `hashing workers); ${startRead.paths} paths`,
        distS.toFixed(2),
        "-",
        Math.round(files / distS).toLocaleString("en"),
        (mb / distS).toFixed(1),
        `${(distS / floorS).toFixed(2)}×`,
        `${(distPeak / 1048576).toFixed(0)} MiB`,
        `${(distRss / 1048576).toFixed(0)} MiB`,
        "-",
        "-",
        "-",
      ],
    ]),
    "",
    "Each bpfink run watches, stats, hashes (SHA-256 in two workers, through bpfink's native " +
    "reader, native/file_reader.c) and records every " +
    "file in SQLite (a temporary database file here, as in interactive mode). Each runs in its own " +
    "process; its seconds include loading the kernel object (the chosen object's load, attach and " +
    "canary are shown). Peak RSS is the process's VmHWM; RSS armed is measured 2 s after the start " +
    "returned, with the part that is the kernel's ring buffer (its pages mapped once), the " +
    "JavaScript heap in use, and the file-backed pages (Deno's binary and the libraries). Each " +
    "runs as `./bpfink` runs the agent (`MALLOC_ARENA_MAX=2`, `--v8-flags=--max-opt=2`, " +
    "`--no-code-cache`), from its own copy of Deno's binary, as on a host where no other process " +
    "maps it (this bench's own Deno would otherwise share its pages and keep them resident). " +
    "The last row is the shipped single file started as a user would on the tree, timed from its " +
    "spawn to its started line (after one untimed start, which unpacks its runtime into " +
    "/var/cache/bpfink as root).",
  ].join("\n");
  console.log(md);
  if (files === 100_000) {
    const stamp = `Generated by \`deno run -A bench/baseline.ts\` on ${
      new Date().toISOString().slice(0, 10)
    }.`;
    await writeGenerated(
      "baseline",
      "bench/results/baseline.md",
      "bpfink first baseline",
      md,
      stamp,
    );
  }
} finally {
  await Deno.remove(root, { recursive: true });
  await Deno.remove(`${root}.deno`).catch(() => {});
}

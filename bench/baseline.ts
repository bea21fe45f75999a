/**
 * The first baseline of a large tree: a generated tree of N files (default
 * 100,000) is watched recursively; bpfink's time to read and hash it all, and
 * its peak RSS, beside `sha256sum` over the same files as the floor.
 *
 *   sudo deno run -A bench/baseline.ts [--files 100000] [--rounds 5]
 *
 * It also starts the shipped single file (dist/bpfink, `deno task build` first)
 * on the tree as a user would, `--paths TREE -r`, until its started line. Each
 * round runs sha256sum, every row, and sha256sum again; a row's ratio is to its
 * round's faster sha256sum, and the table gives the median round.
 *
 * A run at the default size writes bench/results/baseline.md and the README's
 * baseline section.
 *
 * @module
 */
import { DENO_RUN_FLAGS, RUNTIME_ENV } from "../src/runtime_flags.ts";
import { writeGenerated } from "../test/generated_docs.ts";
import { procStatusBytes, table } from "./bench_env.ts";
import { spawnUntil } from "./spawn_until.ts";

const i = Deno.args.indexOf("--files");
const files = i >= 0 ? Number(Deno.args[i + 1]) : 100_000;
const r = Deno.args.indexOf("--rounds");
const rounds = r >= 0 ? Number(Deno.args[r + 1]) : 5;
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
  // The floor runs before and after each round; the faster counts (other load only adds time).
  const sha256sum = async () => {
    const t0 = performance.now();
    const sum = await new Deno.Command("sh", {
      args: ["-c", `find ${root} -type f -print0 | xargs -0 -P1 -n 2000 sha256sum > /dev/null`],
    }).output();
    if (!sum.success) throw new Error("sha256sum failed");
    return (performance.now() - t0) / 1000;
  };

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
  const runMode = async (diff: boolean, onDisk = false): Promise<RunResult> => {
    // On disk: a first baseline into a database of its own, removed after the run.
    const dbDir = onDisk ? await Deno.makeTempDir({ prefix: "bpfink-baseline-db-" }) : undefined;
    try {
      return await runChild(diff, dbDir && `${dbDir}/bpfink.db`);
    } finally {
      if (dbDir) await Deno.remove(dbDir, { recursive: true });
    }
  };
  const runChild = async (diff: boolean, database?: string): Promise<RunResult> => {
    const child = await new Deno.Command(runtime, {
      args: [
        "run",
        "-A",
        ...DENO_RUN_FLAGS,
        new URL("./baseline_run.ts", import.meta.url).pathname,
        root,
        String(diff),
        ...(database ? [database] : []),
      ],
      env: RUNTIME_ENV,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!child.success) {
      throw new Error(`baseline_run.ts ${diff ? "with" : "without"} diffs failed`);
    }
    return JSON.parse(new TextDecoder().decode(child.stdout)) as RunResult;
  };
  // The shipped single file as people start it on a tree, to its started line. One start on
  // one file first: as root its runtime is unpacked into /var/cache/bpfink once, not timed.
  const started = /"action":"started"/;
  await (await spawnUntil([DIST, "--paths", "/etc/hostname", "--json"], started)).stop();
  const runDist = async (): Promise<RunResult & { workers: number }> => {
    const t0 = performance.now();
    const dist = await spawnUntil([DIST, "--paths", root, "-r", "--json"], started, {
      timeoutMs: 600_000,
    });
    const s = (performance.now() - t0) / 1000;
    const line = dist.output!().split("\n").find((l) => started.test(l))!;
    const startRead = JSON.parse(line).bpfink.start_read as { paths: number; workers: number };
    await new Promise((r) => setTimeout(r, 2000));
    const rss = procStatusBytes(dist.pid, "VmRSS");
    const peak = procStatusBytes(dist.pid, "VmHWM");
    await dist.stop();
    return {
      s,
      peak,
      rss,
      watched: startRead.paths,
      workers: startRead.workers,
      kernelS: NaN,
      heap: NaN,
      ring: NaN,
      file: NaN,
    };
  };

  // Rounds, each its floor (the faster sha256sum of one run before and one after) and every
  // row once between them: a row's ratio is to its own round's floor, for this machine's speed
  // moves by a third from one minute to the next.
  const floors: number[] = [];
  const rows: { label: string; runs: RunResult[]; ratios: number[]; workers?: number }[] = [
    { label: "bpfink start, `diff_max_bytes: 0` (hashes only)", runs: [], ratios: [] },
    { label: "bpfink start, line diffs on (text kept for diffs)", runs: [], ratios: [] },
    {
      label: "bpfink start, line diffs on, its database on disk (as the daemon keeps it)",
      runs: [],
      ratios: [],
    },
    { label: "dist/bpfink --paths TREE -r (the shipped file, its defaults", runs: [], ratios: [] },
  ];
  for (let round = 0; round < rounds; round++) {
    const before = await sha256sum();
    const got = [
      await runMode(false),
      await runMode(true),
      await runMode(true, true),
      await runDist(),
    ];
    const floor = Math.min(before, await sha256sum());
    floors.push(floor);
    got.forEach((r, k) => {
      rows[k].runs.push(r);
      rows[k].ratios.push(r.s / floor);
      if ("workers" in r) rows[k].workers = r.workers as number;
    });
  }
  const median = (xs: number[]) => {
    const o = [...xs].sort((x, y) => x - y);
    return o.length % 2 ? o[(o.length - 1) / 2] : (o[o.length / 2 - 1] + o[o.length / 2]) / 2;
  };
  /** The run of the median time (an odd number of rounds: the middle one). */
  const medianRun = (runs: RunResult[]) =>
    [...runs].sort((x, y) => x.s - y.s)[Math.floor((runs.length - 1) / 2)];
  const floorS = median(floors);
  const mib = (b: number) => Number.isNaN(b) ? "-" : `${(b / 1048576).toFixed(0)} MiB`;
  const each = (xs: number[], digits: number, unit = "") =>
    xs.map((x) => `${x.toFixed(digits)}${unit}`).join(", ");
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
      "each round",
      "peak RSS",
      "RSS armed",
      "of which ring buffer",
      "of which JS heap",
      "of which file-backed",
    ], [
      [
        "sha256sum (floor: each round's faster run, before and after its rows)",
        floorS.toFixed(2),
        "-",
        Math.round(files / floorS).toLocaleString("en"),
        (mb / floorS).toFixed(1),
        "1.00×",
        each(floors, 2),
        "-",
        "-",
        "-",
        "-",
        "-",
      ],
      ...rows.map((row) => {
        const r = medianRun(row.runs);
        const label = row.workers === undefined
          ? `${row.label}; ${r.watched} paths`
          : `${row.label}; ${row.workers} hashing worker${
            row.workers === 1 ? "" : "s"
          }); ${r.watched} paths`;
        return [
          label,
          r.s.toFixed(2),
          Number.isNaN(r.kernelS) ? "-" : r.kernelS.toFixed(2),
          Math.round(files / r.s).toLocaleString("en"),
          (mb / r.s).toFixed(1),
          `${median(row.ratios).toFixed(2)}×`,
          each(row.ratios, 2, "×"),
          mib(Math.max(...row.runs.map((x) => x.peak))),
          mib(r.rss),
          mib(r.ring),
          mib(r.heap),
          mib(r.file),
        ];
      }),
    ]),
    "",
    `${rounds} rounds; each runs sha256sum, every bpfink row once, and sha256sum again, and a ` +
    "row's ratio is to its round's faster sha256sum (this machine's speed moves by a third from " +
    "one minute to the next). The table gives the median: the median ratio, the floors' median, " +
    "and the seconds and memory of the run of median seconds (peak RSS: the highest of the " +
    "rounds). Each bpfink run watches, stats, hashes (SHA-256 in the hashing workers, one fewer " +
    "than the cores and at most two, through bpfink's " +
    "native reader, native/file_reader.c) and records every " +
    "file in SQLite (a temporary database file here, as in interactive mode; the third row's on " +
    "disk, a first baseline as the daemon takes it: written without the write-ahead log, synced " +
    "and back in it before the start returns). Each runs in its own " +
    "process; its seconds include loading the kernel object (the chosen object's load, attach and " +
    "canary are shown). Peak RSS is the process's VmHWM; RSS armed is measured 2 s after the start " +
    "returned, with the part that is the kernel's ring buffer (its pages mapped once), the " +
    "JavaScript heap in use, and the file-backed pages (Deno's binary and the libraries). Each " +
    "runs as `./bpfink` runs the agent (`MALLOC_ARENA_MAX=2`, " +
    "`--v8-flags=--max-opt=2,--max-semi-space-size=4,--expose-gc`, " +
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

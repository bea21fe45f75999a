/**
 * Startup of the single file dist/bpfink beside `./bpfink` from source, in one run: file size,
 * cold start (the files each one reads dropped from the page cache first) and warm start to the
 * `started` record, idle RSS, and the memory the single file's unpacked runtime holds. Rounds
 * alternate the two so both see the same machine. Writes bench/results/startup.md and the
 * README's `startup` section. Needs root (BPF).
 *
 *   deno run -A bench/startup.ts [--rounds N]
 *
 * @module
 */
import { writeGenerated } from "../test/generated_docs.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DIST = `${ROOT}dist/bpfink`;
const SOURCE = `${ROOT}bpfink`;
/** Where dist/bpfink keeps its unpacked runtime when it runs as root (packaging/runtime_cache.h). */
const RUNTIME_CACHE = "/var/cache/bpfink";

interface Sample {
  startMs: number;
  /** CPU time (user + system, the process and its waited-for children) at the started record. */
  cpuMs: number;
  rssKb: number;
  /** Bytes of memfd mappings (the unpacked runtime and bundle), 0 from source. */
  memfdBytes: number;
}

/** Every regular file under `path` (or `path` itself). */
function filesUnder(path: string): string[] {
  const info = Deno.statSync(path);
  if (info.isFile) return [path];
  if (!info.isDirectory) return [];
  const out: string[] = [];
  for (const e of Deno.readDirSync(path)) {
    if (e.isSymlink) continue;
    out.push(...filesUnder(`${path}/${e.name}`));
  }
  return out;
}

const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  posix_fadvise: { parameters: ["i32", "i64", "i64", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
});
const POSIX_FADV_DONTNEED = 4;

/** Drops these files from the page cache (fadvise DONTNEED), leaving the rest of it alone. */
function dropFromCache(files: string[]): void {
  for (const f of files) {
    const fd = libc.symbols.open(new TextEncoder().encode(`${f}\0`), 0);
    if (fd < 0) continue;
    libc.symbols.posix_fadvise(fd, 0n, 0n, POSIX_FADV_DONTNEED);
    libc.symbols.close(fd);
  }
}

/** What a start from source reads: Deno, the sources, the embedded assets, the Deno cache. */
function sourceFiles(): string[] {
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  return [
    Deno.realPathSync(Deno.execPath()),
    ...filesUnder(`${ROOT}src`),
    ...filesUnder(`${ROOT}kernels/build`),
    `${ROOT}build.ts`,
    `${ROOT}deno.json`,
    `${ROOT}deno.lock`,
    ...filesUnder(denoDir),
  ];
}

/** Sizes of the distinct memfd files a process maps or holds open (held in memory whole). */
function memfdBytes(pid: number): number {
  const seen = new Map<string, number>();
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      if (!Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`).startsWith("/memfd:")) continue;
      const st = Deno.statSync(`/proc/${pid}/fd/${e.name}`);
      seen.set(String(st.ino), st.size);
    } catch {
      // Closed meanwhile.
    }
  }
  for (const line of Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n")) {
    const m = /^(\w+)-(\w+) \S+ \S+ \S+ (\d+)\s+(\/memfd:.*)$/.exec(line);
    if (!m) continue;
    try {
      // The mapping's file: map_files holds it even after the fd is closed.
      const size = Deno.statSync(`/proc/${pid}/map_files/${m[1]}-${m[2]}`).size;
      seen.set(m[3], size);
    } catch {
      // Gone meanwhile.
    }
  }
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

const TICK_MS = 1000 / 100; // USER_HZ

/** utime + stime + cutime + cstime of a process, in ms. */
function cpuTimeMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
}

/** Starts `bin --paths FILE --json`, times the `started` record, reads RSS after 2 s idle. */
async function startOnce(
  bin: string,
  watched: string,
  env: Record<string, string> = {},
): Promise<Sample> {
  const t0 = performance.now();
  const child = new Deno.Command(bin, {
    args: ["--paths", watched, "--json"],
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let startMs = -1;
  let cpuMs = 0;
  try {
    while (startMs < 0) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${bin} exited before its started record`);
      buf += value;
      for (const line of buf.split("\n").slice(0, -1)) {
        if (JSON.parse(line).event?.action === "started" && startMs < 0) {
          startMs = performance.now() - t0;
          cpuMs = cpuTimeMs(child.pid);
        }
      }
      buf = buf.slice(buf.lastIndexOf("\n") + 1);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
    return { startMs, cpuMs, rssKb, memfdBytes: memfdBytes(child.pid) };
  } finally {
    child.kill("SIGTERM");
    reader.cancel().catch(() => {});
    await child.status;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--rounds");
  const rounds = at >= 0 ? Number(Deno.args[at + 1]) : 5;
  if (!(rounds >= 1)) throw new Error("--rounds takes a positive number");
  try {
    Deno.statSync(DIST);
  } catch {
    console.error("bench/startup.ts: dist/bpfink is missing: run deno task build first");
    Deno.exit(1);
  }
  const dir = await Deno.makeTempDir({ prefix: "bpfink-startup-" });
  const watched = `${dir}/watched.conf`;
  await Deno.writeTextFile(watched, "x\n");
  const runs = {
    dist: { cold: [] as Sample[], warm: [] as Sample[], bin: DIST, files: [DIST], env: {} },
    memfd: {
      cold: [] as Sample[],
      warm: [] as Sample[],
      bin: DIST,
      files: [DIST],
      env: { BPFINK_RUNTIME_CACHE: "off" },
    },
    source: {
      cold: [] as Sample[],
      warm: [] as Sample[],
      bin: SOURCE,
      files: sourceFiles(),
      env: {},
    },
  };
  try {
    // One unmeasured start each: ./bpfink's build step, Deno's caches and dist/bpfink's
    // runtime file (/var/cache/bpfink, as root) are settled first.
    for (const r of Object.values(runs)) await startOnce(r.bin, watched, r.env);
    runs.dist.files.push(...filesUnder(RUNTIME_CACHE));
    for (let i = 0; i < rounds; i++) {
      const names = ["dist", "memfd", "source"] as const;
      const order = names.map((_, k) => names[(i + k) % names.length]);
      for (const name of order) {
        const r = runs[name];
        dropFromCache(r.files);
        r.cold.push(await startOnce(r.bin, watched, r.env));
        r.warm.push(await startOnce(r.bin, watched, r.env));
        console.error(
          `round ${i + 1} ${name}: cold ${r.cold.at(-1)!.startMs.toFixed(0)} ms, warm ${
            r.warm.at(-1)!.startMs.toFixed(0)
          } ms`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const way = new TextDecoder().decode(
    (await new Deno.Command(DIST, { args: ["--version"], stdout: "piped" }).output()).stdout,
  ).trim();
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const ms = (xs: Sample[]) => median(xs.map((s) => s.startMs));
  const cpu = (xs: Sample[]) => median(xs.map((s) => s.cpuMs));
  const rss = (xs: Sample[]) => median([...xs].map((s) => s.rssKb)) / 1024;
  const d = runs.dist, f = runs.memfd, s = runs.source;
  const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
  const row = (what: string, g: (xs: Sample[]) => number, unit: string, cold = false) => {
    const [vd, vf, vs] = [d, f, s].map((r) => g(cold ? r.cold : r.warm));
    return `| ${what} | ${vd.toFixed(0)} ${unit} | ${vf.toFixed(0)} ${unit} | ${
      vs.toFixed(0)
    } ${unit} | ${ratio(vd, vs)} | ${ratio(vf, vs)} |`;
  };
  const held = (r: typeof d) => mb(median(r.warm.map((x) => x.memfdBytes)));
  const table = [
    "| | `dist/bpfink` (root: runtime file) | `dist/bpfink` (runtime in memfd) | `./bpfink` (source) | ratio | ratio |",
    "| --- | --: | --: | --: | --: | --: |",
    `| file size | ${mb(Deno.statSync(DIST).size)} MB | same file | (Deno ${
      mb(Deno.statSync(Deno.realPathSync(Deno.execPath())).size)
    } MB + checkout) | | |`,
    row("cold start to `started` (median)", ms, "ms", true),
    row("warm start to `started` (median)", ms, "ms"),
    row("CPU time to `started`, warm (median)", cpu, "ms"),
    row("idle RSS after 2 s (median)", rss, "MB"),
    `| held in memory whole (memfd: unpacked runtime and/or bundle) | ${held(d)} MB | ${
      held(f)
    } MB | 0 | | |`,
  ].join("\n");
  const body = `${table}\n\n\`dist/bpfink --version\`: \`${way}\`. ${rounds} rounds, each: cold ` +
    "start (the files that way reads dropped from the page cache with fadvise DONTNEED: for " +
    "the runtime file, /var/cache/bpfink too), then warm start; the three ways take turns " +
    "going first. The memfd column is dist/bpfink with `BPFINK_RUNTIME_CACHE=off`, as it runs " +
    "for a user other than root or where /var/cache cannot be written. `./bpfink` runs " +
    "`build.ts bpf native --if-needed` and then the agent, both with Deno's caches (transpiled " +
    "sources, npm packages) warm. CPU time counts the process and the children it waited for " +
    "(utime+stime+cutime+cstime); on a loaded machine it is steadier than the wall-clock times. " +
    "Ratios are to the source.";
  const stamp = `Generated by \`deno run -A bench/startup.ts\` (kernel ${Deno.osRelease()}, ${
    new Date().toISOString().slice(0, 10)
  }).`;
  console.log(body);
  await writeGenerated(
    "startup",
    "bench/results/startup.md",
    "Startup of dist/bpfink",
    body,
    stamp,
  );
}

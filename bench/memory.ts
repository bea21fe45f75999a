/**
 * Resident memory of bpfink at idle, beside bare Deno, in one run: `--paths`
 * on one file, and the daemon (`bpfink run`) watching /etc recursively.
 * Each process is started from source by `./bpfink` (and as the single
 * file), left idle for a few seconds once armed and measured from /proc (RSS,
 * its private anonymous part, its file-backed part, and the peak); then a
 * watched file changes 20 times, and after 12 idle seconds it is measured
 * again: what running keeps, once starting's pages have gone back.
 *
 *   sudo deno run -A bench/memory.ts
 *
 * Writes bench/results/memory.md and the README's memory section.
 *
 * @module
 */
import { writeGenerated } from "../test/generated_docs.ts";
import { table } from "./bench_env.ts";
import { spawnUntil } from "./spawn_until.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();
const IDLE_MS = 5000;
/**
 * Idle time after the changes: the agent gives back what a burst grew once a
 * whole 5 s period of its own passes without work (src/agent/quiet_give_back.ts),
 * so up to 10 s after the burst; 12 s leaves room for that.
 */
const AFTER_MS = 12_000;

interface Sample {
  rss: number;
  anon: number;
  file: number;
  peak: number;
  /** MiB of kernel memory the process's BPF maps hold (their memlock), outside its RSS. */
  maps: number;
}

/** MiB of kernel memory held by the BPF maps that `pid` has open (fdinfo's memlock). */
function mapMemory(pid: number): number {
  let bytes = 0;
  for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      if (!Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`).includes("bpf-map")) continue;
      const info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd.name}`);
      bytes += Number(/memlock:\s+(\d+)/.exec(info)?.[1] ?? 0);
    } catch {
      // closed meanwhile
    }
  }
  return bytes / 2 ** 20;
}

function sample(pid: number): Sample {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return {
    rss: kb("VmRSS"),
    anon: kb("RssAnon"),
    file: kb("RssFile"),
    peak: kb("VmHWM"),
    maps: mapMemory(pid),
  };
}

/** Changes made to the watched file before the second sample. */
const CHANGES = 20;

/**
 * Starts `cmd`, waits for `ready` in its output, idles, samples; then, where
 * `watched` is given, appends to it CHANGES times (one a quarter second),
 * idles and samples again; stops it.
 */
async function measure(
  cmd: string[],
  ready: RegExp,
  watched?: string,
): Promise<{ armed: Sample; worked?: Sample }> {
  const tool = await spawnUntil(cmd, ready, { cwd: ROOT, stopSignal: "SIGTERM" });
  try {
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const armed = sample(tool.pid);
    if (!watched) return { armed };
    for (let i = 0; i < CHANGES; i++) {
      await Deno.writeTextFile(watched, `change ${i}\n`, { append: true });
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, AFTER_MS));
    return { armed, worked: sample(tool.pid) };
  } finally {
    await tool.stop();
  }
}

const tmp = await Deno.makeTempDir({ prefix: "bpfink-memory-" });
try {
  await Deno.writeTextFile(
    `${tmp}/idle.ts`,
    "setInterval(() => {}, 1000);\nconsole.log('ready');\n",
  );
  // What loading the code of `--paths` costs before it does anything.
  await Deno.writeTextFile(
    `${tmp}/imports.ts`,
    [
      `await import(${JSON.stringify(`${ROOT}src/cli/watch_command.ts`)});`,
      "setInterval(() => {}, 1000);",
      "console.log('ready');",
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(`${tmp}/watched`, "one watched file\n");
  await Deno.writeTextFile(
    `${tmp}/config.yaml`,
    [
      "watches:",
      "  - path: /etc",
      "    recursive: true",
      `  - path: ${tmp}/watched`,
      `database: ${tmp}/bpfink.db`,
      `key_file: ${tmp}/hmac.key`,
      "log_level: info",
      "outputs:",
      "  - type: stdout",
      "    format: json",
      "",
    ].join("\n"),
  );
  const etcFiles = (await new Deno.Command("find", {
    args: ["/etc", "-xdev"],
    stdout: "piped",
    stderr: "null",
  }).output()).stdout;
  const etcCount = new TextDecoder().decode(etcFiles).split("\n").filter(Boolean).length;
  // From source as users start it: ./bpfink (its Deno flags and its MALLOC_ARENA_MAX=2).
  const run = [`${ROOT}bpfink`];
  // The single file as users run it (as root: its runtime from /var/cache/bpfink).
  const dist = [`${ROOT}dist/bpfink`];
  Deno.statSync(dist[0]); // build it first: deno task build
  const rows: [string, { armed: Sample; worked?: Sample }][] = [];
  const watched = `${tmp}/watched`;
  const conditions: [string, string[], RegExp, string?][] = [
    ["bare Deno (an idle script)", [DENO, "run", "-A", `${tmp}/idle.ts`], /ready/],
    [
      "bpfink's `--paths` modules loaded, nothing started",
      [DENO, "run", "-A", "--quiet", "--config", `${ROOT}deno.json`, `${tmp}/imports.ts`],
      /ready/,
    ],
    ["bpfink --paths (one file)", [...run, "--paths", watched], /Ctrl-C to stop/, watched],
    [
      `bpfink run, /etc recursive (${etcCount} paths)`,
      [...run, "run", "--config", `${tmp}/config.yaml`],
      /"started"|started /,
      watched,
    ],
    [
      "dist/bpfink --paths (one file)",
      [...dist, "--paths", watched],
      /Ctrl-C to stop/,
      watched,
    ],
    [
      `dist/bpfink run, /etc recursive (${etcCount} paths)`,
      [...dist, "run", "--config", `${tmp}/config.yaml`],
      /"started"|started /,
      watched,
    ],
  ];
  for (const [name, args, ready, file] of conditions) {
    console.error(`measuring ${name}...`);
    rows.push([name, await measure(args, ready, file)]);
  }
  const mib = (x: number) => `${x.toFixed(0)} MiB`;
  const md = [
    `### Idle memory (kernel ${Deno.osRelease()})`,
    "",
    table(
      [
        "process",
        `RSS ${IDLE_MS / 1000} s after arming`,
        `RSS after ${CHANGES} changes`,
        "private anonymous",
        "file-backed (Deno's code)",
        "peak RSS",
        "BPF maps (kernel memory)",
      ],
      rows.map(([n, { armed, worked }]) => {
        const last = worked ?? armed;
        return [
          n,
          mib(armed.rss),
          worked ? mib(worked.rss) : "-",
          mib(last.anon),
          mib(last.file),
          mib(last.peak),
          last.maps > 0 ? mib(last.maps) : "-",
        ];
      }),
    ),
    "",
    `"After ${CHANGES} changes": ${CHANGES} appends to a watched file, a quarter second apart, ` +
    `then ${AFTER_MS / 1000} s idle (a burst's give-back comes after a quiet 5 s period of the ` +
    "agent's own); the last three columns are from then. " +
    "File-backed pages are the Deno binary's code that the process touched: clean, shared " +
    "with every other Deno process and reclaimable; the private anonymous part is what the " +
    "process itself holds. The BPF maps are kernel memory, outside RSS, allocated whole when " +
    "the object loads (the sum of their memlock in /proc/PID/fdinfo); the ring buffer among " +
    "them is also in RSS, where its pages are mapped.",
  ].join("\n");
  console.log(md);
  const stamp = `Generated by \`deno run -A bench/memory.ts\` on ${
    new Date().toISOString().slice(0, 10)
  }.`;
  await writeGenerated("memory", "bench/results/memory.md", "bpfink idle memory", md, stamp);
} finally {
  await Deno.remove(tmp, { recursive: true });
}

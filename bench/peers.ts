/**
 * What each file-watching tool costs, side by side in one run, on the host
 * (bench/coverage/cost.ts) and inside each guest kernel
 * (bench/guest_overhead.ts): the writer's time per 1-byte write to an
 * unwatched file and per append to the watched file (a flood), as ratios to
 * no tool measured around each tool, and the tool's own CPU and RSS idle and
 * after the flood. Tools: bpfink (`--paths FILE`, its own process, with the
 * strategy it picks; per strategy on request), `inotifywait -m FILE`, fatrace (every write on the machine)
 * and auditd with `-w FILE -p wa`, run the normal way (its own log file).
 * A tool that cannot run here gives a note with the one-line reason, never a
 * number.
 *
 * @module
 */
import { DENO_RUN_FLAGS, RUNTIME_ENV } from "../src/runtime_flags.ts";
import type { StrategyName } from "../kernels/strategies.ts";
import { AUDIT_KEY, Auditd } from "./coverage/auditd.ts";
import { type Running, spawnUntil } from "./spawn_until.ts";
import {
  CONTENT_FLOOR,
  costSection,
  designFloorName,
  MARK_FLOOR,
  type ToolCost,
} from "./peers_table.ts";
import type { Attached, FloorProgram } from "./bench_env.ts";

/** One tool of the measure: its row name, and how to start it (or why it cannot run). */
export interface Tool {
  name: string;
  start(): Promise<Running | string>;
}

/** What the measure needs from its environment. */
export interface CostOptions {
  /** A scratch directory (the watched and unwatched files, auditd's config and log). */
  dir: string;
  /** Runs the load generator (bench/c/load.c) with these arguments; the number it prints. */
  load(...args: string[]): Promise<number>;
  /** Writes per measure. */
  calls: number;
  /** Measures per condition, the fastest kept. Default 3. */
  runs?: number;
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
export function procUsage(pid: number): { cpuS: number; rssMiB: number } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const rss = Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]) * 4096;
    return { cpuS: (Number(f[11]) + Number(f[12])) / 100, rssMiB: rss / 1048576 };
  } catch {
    return { cpuS: NaN, rssMiB: NaN };
  }
}

/** The one line that says why a tool did not start: the last line it printed, else the error's first. */
export function startFailure(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const last = lines.length > 1 ? lines[lines.length - 1] : lines[0] ?? "failed to start";
  return last.replace(/^bpfink: /, "").replace(/\.$/, "");
}

/**
 * Starts a tool; a failure is the reason for its note when `expected`
 * matches it (the kernel refuses the tool), and breaks the bench otherwise.
 */
async function started(
  start: () => Promise<Running>,
  expected: RegExp = /./,
): Promise<Running | string> {
  try {
    return await start();
  } catch (e) {
    const reason = startFailure(e);
    if (!expected.test(reason)) throw new Error(`the bench is broken: ${reason}`);
    return reason;
  }
}

/**
 * bpfink watching `file`: one row with the strategy it picks itself (named
 * in the row, from its start record), or one row per strategy in
 * `strategies`, forced with `--probe`. `command` is how bpfink runs here,
 * before its arguments (the `bpfink` script on the host, Deno and
 * src/main.ts in a guest).
 */
export function bpfinkTools(
  command: string[],
  file: string,
  env: Record<string, string> = {},
  strategies?: StrategyName[],
): Tool[] {
  return (strategies ?? [undefined]).map((s) => {
    const tool: Tool = {
      name: `bpfink --paths FILE${s ? ` --probe ${s}` : ""}`,
      start: () =>
        started(
          async () => {
            const t = await spawnUntil(
              [...command, "--paths", file, "--json", ...(s ? ["--probe", s] : [])],
              /"started"/,
              { env, timeoutMs: 600_000, count: REPORTS_WATCHED },
            );
            const picked = /"strategy":"(\w+)"/.exec(t.output?.() ?? "")?.[1];
            if (!s && picked) tool.name += ` (picks ${picked})`;
            return t;
          },
          /no kernel object works on this kernel/,
        ),
    };
    return tool;
  });
}

/**
 * bpfink from source the way the `bpfink` script runs it (two malloc arenas,
 * no TurboFan), with the Deno running this: for a guest, which carries the
 * sources but neither the script's build step nor a compiler.
 */
export function bpfinkFromSource(
  file: string,
  strategies?: StrategyName[],
  env: Record<string, string> = {},
): Tool[] {
  const main = new URL("../src/main.ts", import.meta.url).pathname;
  return bpfinkTools(
    [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "--no-check",
      "--cached-only",
      ...DENO_RUN_FLAGS,
      main,
    ],
    file,
    { ...RUNTIME_ENV, ...env },
    strategies,
  );
}

/** The row name of bpfink without its fanotify safety net. */
const NO_SAFETY_NET = "bpfink --paths FILE, BPFINK_FANOTIFY=0 (no safety net)";

/**
 * `tools` (bpfink rows) run without the fanotify safety net and its mark on
 * the watched file (`BPFINK_FANOTIFY=0`), named so: what the net costs the
 * writer (bpfink then misses what only fanotify sees).
 */
export function withoutSafetyNet(tools: Tool[]): Tool[] {
  for (const t of tools) t.name = NO_SAFETY_NET;
  return tools;
}

/**
 * The runtime bpfink runs on, running nothing but a timer (the Deno that
 * runs this, as `./bpfink` runs it: two malloc arenas): the floor of any
 * agent written for it. It watches nothing, so its write columns are the
 * machine's noise, and its RSS is what no change to bpfink can take off.
 */
export function runtimeFloorTool(): Tool {
  return {
    name: "Deno alone (an empty script: bpfink's runtime, watching nothing)",
    start: () =>
      started(() =>
        spawnUntil([Deno.execPath(), "eval", "setTimeout(() => {}, 1e9)"], undefined, {
          settleMs: 1000,
          env: RUNTIME_ENV,
        }), /^$/),
  };
}

/**
 * An fsnotify mark on `file` that wants no write events (an inotify watch
 * for attribute changes): it reports nothing of the flood, so its watched
 * column is what the kernel charges every write to a file that carries any
 * mark. bpfink's fanotify safety net puts one on every watched file; before
 * 6.x fsnotify walks an inode's marks on every write whatever they want.
 */
export function markFloorTool(file: string): Tool {
  return {
    name: MARK_FLOOR,
    start: () =>
      started(() =>
        spawnUntil(["inotifywait", "-m", "-e", "attrib", file], /Watches established/, {
          timeoutMs: 60_000,
        }), /^$/),
  };
}

/**
 * The least CPU a tool that knows the watched file's content spends: the
 * file read whole and hashed once per close after writing (bench/c/load.c
 * `hashwatch`, at `load`), nothing else. A flood through one fd is one
 * read. auditd's daemon spends less, because an audit watch never reads
 * the file.
 */
export function contentFloorTool(load: string, file: string): Tool {
  return {
    name: CONTENT_FLOOR,
    start: () =>
      started(() =>
        spawnUntil([load, "hashwatch", file], /^watching /m, {
          timeoutMs: 60_000,
          count: REPORTS_WATCHED,
        }), /^$/),
  };
}

/** The hook each floor program stands for, as a row names it. */
const FLOOR_HOOKS: Partial<Record<FloorProgram, string>> = {
  floor_fexit_vfs: "fexit on vfs_write",
  floor_tp_btf: "tp_btf on sys_exit",
};

/**
 * The floor of bpfink's design: the empty program on the hook the object
 * it picks catches writes on (`floor_fexit_vfs` for fentry, `floor_tp_btf`
 * for the tracepoint object; bench/bpf/floor.bpf.c) and,
 * on the watched file, a mark that wants no writes (as markFloorTool; the
 * fanotify safety net's mark once a flood has muted its writes). It reports
 * nothing: its write columns are what the kernel charges for the hook and
 * the mark alone, which no program body on that hook can go below. Its CPU
 * and RSS are inotifywait's.
 */
export function designFloorTool(
  env: { floor(p: FloorProgram): Attached },
  file: string,
  program: FloorProgram = "floor_fexit_vfs",
): Tool {
  return {
    name: designFloorName(FLOOR_HOOKS[program] ?? program),
    start: async () => {
      let hook: Attached;
      try {
        hook = env.floor(program);
      } catch (e) {
        return startFailure(e); // the kernel refuses the hook (fentry here)
      }
      const mark = await markFloorTool(file).start();
      if (typeof mark === "string") {
        await hook.close();
        return mark;
      }
      return {
        ...mark,
        stop: async () => {
          await mark.stop();
          await hook.close();
        },
      };
    },
  };
}

/** The peers watching `file`: inotifywait, fatrace, and auditd (last: it leaves audit enabled). */
export function peerTools(dir: string, file: string): Tool[] {
  Deno.mkdirSync(`${dir}/audit`, { recursive: true });
  const auditd = new Auditd(`${dir}/audit`);
  return [
    {
      name: "inotifywait -m FILE",
      start: () =>
        started(() =>
          spawnUntil(["inotifywait", "-m", file], /Watches established/, {
            timeoutMs: 60_000,
            count: /MODIFY/,
          }), /^$/), // inotify is in every kernel bpfink runs on: a failure breaks the bench
    },
    {
      name: "fatrace -f W (all writes)",
      start: () =>
        started(() =>
          spawnUntil(["fatrace", "-f", "W"], undefined, { settleMs: 2000, count: REPORTS_WATCHED })
        ),
    },
    {
      name: "auditd, -w FILE -p wa",
      start: async () => {
        try {
          await auditd.start();
        } catch (e) {
          await auditd.stop();
          return startFailure(e);
        }
        if (auditd.reason) {
          await auditd.stop();
          return auditd.reason;
        }
        await auditd.watch(file);
        return {
          pid: auditd.pid!,
          counted: () =>
            auditd.log().split("\n").filter((l) =>
              l.startsWith("type=SYSCALL") && l.includes(`key="${AUDIT_KEY}"`)
            ).length,
          stop: async () => {
            await auditd.watch(file, false);
            await auditd.stop();
          },
        };
      },
    },
  ];
}

/** The watched file's name, as a tool's report of it shows. */
const WATCHED = "app.conf";
const REPORTS_WATCHED = /app\.conf/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until process `pid` has finished starting: its CPU time has not
 * moved for two seconds (at most 30 s in all). A tool's idle CPU is measured
 * after that: under a guest's emulation, the work that follows a start
 * ("started" printed, then memory given back and starting's code paged out)
 * takes seconds, where it takes tens of milliseconds on the host, and a fixed
 * second of settling measured it as idle CPU.
 */
async function settled(pid: number): Promise<void> {
  const end = performance.now() + 30_000;
  let last = procUsage(pid).cpuS;
  let still = 0;
  while (still < 4 && performance.now() < end) {
    await sleep(500);
    const now = procUsage(pid).cpuS;
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/**
 * Measures every tool in turn, with no tool measured first and after each
 * one (a tool's ratio is to the faster of the no-tool measures around it).
 * The watched file is `dir`/watched/app.conf; the tools must watch it.
 */
export async function measureCost(
  tools: Tool[],
  opts: CostOptions,
): Promise<{ base: ToolCost; costs: ToolCost[] }> {
  const { file, unwatched } = costFiles(opts.dir);
  const runs = opts.runs ?? 3;
  const once = async () => {
    const u = await opts.load("write", unwatched, String(opts.calls));
    await Deno.writeTextFile(file, ""); // the flood starts from an empty file each time
    const w = await opts.load("appendn", file, String(opts.calls));
    return { u, w };
  };
  // The fastest of `runs` runs: the machine's other load only ever adds time.
  const measure = async () => {
    const all = [];
    for (let i = 0; i < runs; i++) all.push(await once());
    return { u: Math.min(...all.map((r) => r.u)), w: Math.min(...all.map((r) => r.w)) };
  };
  let off = await measure();
  const base: ToolCost = { name: "no tool", unwatched: off.u, watched: off.w };
  const costs: ToolCost[] = [];
  for (const tool of tools) {
    const t = await tool.start();
    if (typeof t === "string") {
      costs.push({ name: tool.name, reason: t });
      continue;
    }
    let row: ToolCost;
    try {
      await settled(t.pid);
      const idle0 = procUsage(t.pid);
      await sleep(3000);
      const idle1 = procUsage(t.pid);
      const on = await measure();
      await sleep(500); // the tool catches up
      const busy = procUsage(t.pid);
      if (t.counted?.() === 0) {
        // It ran, but reported none of the writes: its numbers would measure nothing.
        const said = t.output?.().split("\n").find((l) => l.trim());
        costs.push({
          name: tool.name,
          reason: `ran, but reported none of the watched file's writes${
            said ? `; it said "${said.trim()}"` : ""
          }`,
        });
        continue;
      }
      row = {
        name: tool.name,
        unwatched: on.u,
        watched: on.w,
        cpuIdlePct: ((idle1.cpuS - idle0.cpuS) / 3) * 100,
        cpuFloodS: busy.cpuS - idle1.cpuS,
        rssIdleMiB: idle1.rssMiB,
        rssFloodMiB: busy.rssMiB,
      };
    } finally {
      await t.stop();
    }
    const after = await measure();
    row.offUnwatched = Math.min(off.u, after.u);
    row.offWatched = Math.min(off.w, after.w);
    costs.push(row);
    off = after;
  }
  return { base, costs };
}

/** The watched file and the unwatched one under `dir`, their directories created. */
export function costFiles(dir: string): { file: string; unwatched: string } {
  Deno.mkdirSync(`${dir}/watched`, { recursive: true });
  Deno.mkdirSync(`${dir}/other`, { recursive: true });
  const file = `${dir}/watched/${WATCHED}`;
  try {
    Deno.statSync(file);
  } catch {
    Deno.writeTextFileSync(file, "");
  }
  return { file, unwatched: `${dir}/other/unwatched` };
}

/**
 * The measure inside a guest kernel: bpfink from source with each strategy,
 * then the peers, in `env`'s directory with its load generator; the section
 * to print (its heading `### Cost beside the other tools …`).
 */
export async function guestCostSection(
  env: {
    dir: string;
    load(...args: string[]): Promise<number>;
    loadPath: string;
    floor(p: FloorProgram): Attached;
  },
  calls: number,
): Promise<string> {
  // On the root mount: fatrace watches only it and mounts of a device, not the guest's /tmp.
  const dir = await Deno.makeTempDir({ dir: Deno.env.get("HOME") ?? "/root", prefix: "peers-" });
  const { file } = costFiles(dir);
  const { base, costs } = await measureCost(
    [
      ...bpfinkFromSource(file),
      ...withoutSafetyNet(bpfinkFromSource(file, undefined, { BPFINK_FANOTIFY: "0" })),
      markFloorTool(file),
      designFloorTool(env, file),
      contentFloorTool(env.loadPath, file),
      ...peerTools(dir, file),
    ],
    { dir, load: (...args) => env.load(...args), calls },
  ).finally(() => Deno.remove(dir, { recursive: true }));
  return costSection(
    `Cost beside the other tools (${calls.toLocaleString("en")} 1-byte writes per measure)`,
    base,
    costs,
  );
}

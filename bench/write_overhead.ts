/**
 * Cost of a 1-byte write() to an unwatched file, and of getppid(), with
 * nothing attached, with the floor (empty programs on the same hook), and
 * with each bpfink strategy that loads here. Conditions are interleaved in
 * rounds and reported as medians and ratios to "off", measured in one run.
 *
 * @module
 */
import { STRATEGIES } from "../kernels/strategies.ts";
import { inodeOf } from "../src/watch/inode_key.ts";
import { type Attached, type BenchEnv, median, table } from "./bench_env.ts";
import { errorMessage } from "../src/error_message.ts";

type Condition = { name: string; attach: () => Attached | undefined };

/** Runs the benchmark; returns its Markdown section. */
export async function writeOverhead(
  env: BenchEnv,
  quick: boolean,
  calls?: number,
): Promise<string> {
  const n = calls ?? (quick ? 200_000 : 2_000_000);
  const rounds = quick ? 5 : 7;
  const file = `${env.dir}/unwatched`;
  // 100 watched files (not the one written), as a realistic map.
  const watched: string[] = [];
  for (let i = 0; i < 100; i++) {
    const p = `${env.dir}/watched-${i}`;
    await Deno.writeTextFile(p, "x");
    watched.push(p);
  }
  // Marked with fanotify first, as the agent does: the object's mark gate may then skip the
  // watched-map lookup for an inode with no mark (the unwatched file). "fanotify off" rows keep
  // the gate shut, as an agent without fanotify runs.
  const marks = env.markFiles(watched);
  const withWatches = (a: Attached): Attached => {
    for (const p of watched) a.kernel!.watchInode(inodeOf(Deno.statSync(p)), 1, marks.marked);
    return a;
  };
  const skipped: string[] = [];
  if (!marks.marked) {
    skipped.push("fanotify could not mark the watched files: every row has the gate off");
  }
  const conditions: Condition[] = [{ name: "off", attach: () => undefined }];
  const floors = [
    ["floor: empty fexit/__x64_sys_write", "floor_fexit"],
    ["floor: empty fexit/vfs_write", "floor_fexit_vfs"],
    ["floor: empty kretprobe/__x64_sys_write", "floor_kretprobe"],
    ["floor: empty kretprobe/vfs_write", "floor_kretprobe_vfs"],
    ["floor: empty kprobe + kretprobe on vfs_write", ["floor_kprobe_vfs", "floor_kretprobe_vfs"]],
    ["floor: empty tp_btf/sys_exit", "floor_tp_btf"],
    ["floor: empty raw_tp/sys_exit", "floor_raw_tp"],
  ] as const;
  for (const [name, prog] of floors) {
    try {
      await env.floor(prog).close();
      conditions.push({ name, attach: () => env.floor(prog) });
    } catch (e) {
      skipped.push(`${name}: ${(errorMessage(e)).split("\n")[0]}`);
    }
  }
  // Each object is loaded once (under emulation a load takes many seconds) and
  // attached only for its turn in each round, with the gate as its row says.
  const loaded: Attached[] = [];
  const shared = new Map<string, Attached | undefined>();
  const inTurns = (name: string, key: string, load: () => Attached, gated: boolean): Condition => {
    if (!shared.has(key)) {
      const a = load();
      a.kernel!.detach();
      loaded.push(a);
      shared.set(key, a);
    }
    const gate = (a: Attached) => a.kernel!.gate.allow(gated);
    return {
      name,
      attach: () => {
        const a = shared.get(key);
        if (a) {
          try {
            a.kernel!.attachAgain();
            gate(a);
            return { name, close: () => Promise.resolve(void a.kernel!.detach()) };
          } catch {
            // 5.10 attaches a trampoline program once per load: load it for each turn.
            void a.close();
            loaded.splice(loaded.indexOf(a), 1);
            shared.set(key, undefined);
          }
        }
        const b = load();
        gate(b);
        return b;
      },
    };
  };
  const both = (name: string, key: string, load: () => Attached) => {
    conditions.push(inTurns(name, key, load, true));
    conditions.push(inTurns(`${name}, fanotify off`, key, load, false));
  };
  for (const s of STRATEGIES) {
    try {
      both(`bpfink ${s.name}`, s.name, () => withWatches(env.strategy(s.name)));
    } catch (e) {
      skipped.push(`${s.name}: ${(errorMessage(e)).split("\n")[0]}`);
    }
    if (s.alternates) {
      const name = `bpfink ${s.name} (${s.alternatesAre})`;
      try {
        both(name, `${s.name}-alt`, () => withWatches(env.strategy(s.name, undefined, true)));
      } catch (e) {
        skipped.push(`${s.name} (${s.alternatesAre}): ${(errorMessage(e)).split("\n")[0]}`);
      }
    }
  }
  try {
    return await measure(env, conditions, skipped, file, n, rounds);
  } finally {
    for (const a of loaded) await a.close();
    await marks.close();
  }
}

/** Runs the conditions in interleaved rounds; returns the Markdown section. */
async function measure(
  env: BenchEnv,
  conditions: Condition[],
  skipped: string[],
  file: string,
  n: number,
  rounds: number,
): Promise<string> {
  const writes = new Map<string, number[]>();
  const ppids = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    const order = conditions.map((_, i) => conditions[(i + r) % conditions.length]);
    for (const c of order) {
      const a = c.attach();
      try {
        writes.set(c.name, [
          ...(writes.get(c.name) ?? []),
          await env.load("write", file, String(n)),
        ]);
        ppids.set(c.name, [...(ppids.get(c.name) ?? []), await env.load("getppid", String(n))]);
      } finally {
        await a?.close();
      }
    }
  }
  const offW = median(writes.get("off")!);
  const offP = median(ppids.get("off")!);
  const rows = conditions.map((c) => {
    const w = median(writes.get(c.name)!);
    const p = median(ppids.get(c.name)!);
    return [
      c.name,
      w.toFixed(1),
      `${(w / offW).toFixed(3)}×`,
      `+${(w - offW).toFixed(1)}`,
      p.toFixed(1),
      `${(p / offP).toFixed(3)}×`,
    ];
  });
  // Nothing attached is the cheapest a syscall gets: a floor clearly below it means the
  // machine disturbed this run more than the fastest-batch measure could filter out.
  const belowOff = conditions.filter((c) => median(writes.get(c.name)!) < 0.97 * offW);
  return [
    `### Write overhead (${n.toLocaleString("en")} calls × ${rounds} interleaved rounds, medians)`,
    "",
    "ns per call is the fastest 1,024-call batch of a run (preemption by a neighbour only slows " +
    "some batches), median over the rounds.",
    "",
    table(
      ["condition", "write ns", "write ratio", "write +ns", "getppid ns", "getppid ratio"],
      rows,
    ),
    "",
    ...(belowOff.length
      ? [
        `Noisy run: ${
          belowOff.map((c) => c.name).join(", ")
        } measured below "off"; read these ratios with care.`,
        "",
      ]
      : []),
    ...(skipped.length
      ? ["Not loadable on this kernel:", ...skipped.map((s) => `- ${s}`), ""]
      : []),
  ].join("\n");
}

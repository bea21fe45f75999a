/**
 * `bpfink kernels`: the embedded objects, what the running kernel offers,
 * how each strategy fared here, and the choice with its reason.
 *
 * @module
 */
import { STRATEGIES } from "../../kernels/strategies.ts";
import { EMBEDDED_OBJECTS } from "../../kernels/build/embedded.ts";
import { loadLibbpf } from "../agent/open_kernel.ts";
import { readKernelFacts } from "../kernel/kernel_facts.ts";
import { chooseStrategy, type Trial } from "../kernel/strategy_choice.ts";
import { parseStrategy } from "./watch_command.ts";
import { AgentError } from "../agent/agent_error.ts";
import { BpfObject } from "../bpf/bpf_object.ts";
import { type ProgramSample, sampleLoadedPrograms } from "../bpf/prog_stats.ts";
import { errorMessage } from "../error_message.ts";

/** Options of the kernels command. */
export interface KernelsCommandOptions {
  probe?: string;
  btf?: string;
  libbpf?: string;
  json?: boolean;
  /** Seconds to sample the run-time statistics of bpfink programs already running. */
  stats?: string;
}

const yes = (b: boolean) => (b ? "yes" : "no");

/** Prints the report; returns the exit code (1 when no strategy works). */
export async function kernelsCommand(opts: KernelsCommandOptions): Promise<number> {
  const facts = readKernelFacts(opts.btf);
  const force = parseStrategy(opts.probe);
  const seconds = opts.stats === undefined ? undefined : Number(opts.stats);
  if (seconds !== undefined && !(seconds > 0 && seconds <= 3600)) {
    throw new AgentError("--stats takes a number of seconds from 0 to 3600", 2);
  }
  let trials: Trial[] = [];
  let libbpf = "";
  let note = "";
  if (!facts.canBpf) note = "not root: strategies were not tried (run with sudo to try them)";
  else if (!facts.btf) note = "no BTF: strategies were not tried (pass --btf FILE)";
  else {
    const lib = loadLibbpf(opts.libbpf);
    libbpf = `${lib.path} (libbpf ${lib.version})`;
    const choice = await chooseStrategy(lib, facts, {
      objects: EMBEDDED_OBJECTS,
      force,
      tryAll: true,
      btfCustomPath: opts.btf,
      onEvent: () => {},
    });
    await choice.kernel?.close();
    trials = choice.trials;
  }
  const chosen = trials.find((t) => t.outcome === "chosen");
  const running = seconds === undefined ? undefined : await runningCost(opts.libbpf, seconds);
  if (opts.json) {
    console.log(JSON.stringify(
      {
        objects: STRATEGIES.map((s) => ({ ...s, bytes: EMBEDDED_OBJECTS[s.name]?.length ?? 0 })),
        kernel: facts,
        libbpf,
        trials,
        choice: chosen?.strategy ?? null,
        running,
        note: note || undefined,
      },
      null,
      2,
    ));
    return chosen ? 0 : 1;
  }
  const lines: string[] = [];
  lines.push("Embedded kernel objects (best first):");
  for (const s of STRATEGIES) {
    const kib = ((EMBEDDED_OBJECTS[s.name]?.length ?? 0) / 1024).toFixed(0);
    lines.push(
      `  ${s.name.padEnd(11)} ${s.object.padEnd(22)} ${
        kib.padStart(4)
      } KiB  ${s.minKernel}+  ${s.why}`,
    );
    lines.push(`  ${"".padEnd(11)} needs: ${s.needs}`);
  }
  lines.push("", `Running kernel: ${facts.release}`);
  lines.push(`  BTF:               ${facts.btf ?? "missing"}`);
  lines.push(`  kprobe PMU:        ${yes(facts.kprobePmu)}`);
  lines.push(`  tracefs kprobes:   ${yes(facts.kprobeEvents)}`);
  lines.push(`  may load BPF:      ${yes(facts.canBpf)} (euid ${facts.euid})`);
  if (libbpf) lines.push(`  libbpf:            ${libbpf}`);
  lines.push("", "Strategies tried here:");
  if (note) lines.push(`  ${note}`);
  for (const t of trials) {
    lines.push(`  ${t.strategy.padEnd(11)} ${t.outcome.padEnd(9)} ${t.reason}`);
    for (const l of t.lost ?? []) lines.push(`  ${"".padEnd(21)} coverage lost: ${l.lost}`);
    for (const l of t.verifier ?? []) lines.push(`  ${"".padEnd(21)} verifier: ${l}`);
  }
  lines.push("");
  if (chosen) lines.push(`Choice: ${chosen.strategy} (${chosen.reason})`);
  else lines.push(`Choice: none${note ? "" : ": no strategy works on this kernel"}`);
  if (running) {
    lines.push("", `bpfink programs running now (BPF run-time statistics over ${opts.stats} s):`);
    if (running.length === 0) lines.push("  none");
    for (const p of running) {
      lines.push(
        `  id ${String(p.id).padEnd(6)} ${p.name.padEnd(16)} ${String(p.runs).padStart(10)} runs  ${
          p.nsPerRun.toFixed(0).padStart(6)
        } ns/run  ${p.cpuPercent.toFixed(3)}% CPU`,
      );
    }
  }
  console.log(lines.join("\n"));
  return chosen ? 0 : 1;
}

/** What the bpfink programs loaded on this machine (by any bpfink) cost over `seconds`. */
async function runningCost(libbpf: string | undefined, seconds: number): Promise<ProgramSample[]> {
  const lib = loadLibbpf(libbpf);
  // Programs are known by name (the kernel keeps 15 characters of it).
  const names = new Set<string>();
  for (const [name, bytes] of Object.entries(EMBEDDED_OBJECTS)) {
    const obj = BpfObject.open(lib, `fim-${name}`, bytes);
    try {
      for (const p of obj.programs()) names.add(p.name.slice(0, 15));
    } finally {
      obj.close();
    }
  }
  try {
    return await sampleLoadedPrograms(lib, (n) => names.has(n), seconds * 1000);
  } catch (e) {
    throw new AgentError(
      `cannot sample BPF run-time statistics: ${errorMessage(e)}`,
    );
  }
}

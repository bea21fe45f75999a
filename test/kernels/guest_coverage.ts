/**
 * Runs inside a guest kernel: every change method of test/coverage_methods.ts
 * (ROWS, RESOLVED_ROWS and PROGRAM_ROWS, whose programs the host built into
 * GUEST_PROGRAM_DIR) under each strategy forced, so the fentry and kprobe
 * objects' coverage is proven where they load. Prints one
 * `BPFINK-COV {json}` line per method and strategy (a Verdict of
 * test/coverage_verdict.ts). A method missed live is followed by a
 * reconcile, whose finding is recorded. Methods whose tool fails in the
 * guest are reported as not run, with its error.
 *
 * @module
 */
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import type { StrategyName } from "../../kernels/strategies.ts";
import {
  commandFor,
  GUEST_PROGRAM_DIR,
  PROGRAM_ROWS,
  RESOLVED_ROWS,
  ROWS as BASE_ROWS,
  targetOf,
  writersIn,
} from "../coverage_methods.ts";
import { judge, seenOn, type Verdict, type Wanted } from "../coverage_verdict.ts";
import { sha256File } from "../../src/watch/file_state.ts";
import { errorMessage } from "../../src/error_message.ts";

const ROWS = [...BASE_ROWS, ...RESOLVED_ROWS, ...PROGRAM_ROWS];

async function runCmd(cmd: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  try {
    const r = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(r.stderr).split("\n").filter((l) => l.trim());
    return { ok: r.success, out: new TextDecoder().decode(r.stdout), err: lines.at(-1) ?? "" };
  } catch (e) {
    return { ok: false, out: "", err: errorMessage(e) };
  }
}

const print = (strategy: string, method: string, v: Verdict | { status: "info"; detail: string }) =>
  console.log(`BPFINK-COV ${JSON.stringify({ strategy, method, ...v })}`);

/** A verdict that nothing can better: the BPF hooks named every process wanted. */
const plainYes = (v: Verdict | undefined) =>
  v?.status === "detected" && !v.fanotifyOnly && v.otherName === undefined;

/**
 * Waits up to `ms` for a verdict; a lesser one (fanotify's alone, another
 * name) waits up to 1 s more for the BPF hooks' event, which emulation may
 * deliver after fanotify's.
 */
async function verdictWithin(events: ChangeEvent[], want: Wanted, ms: number) {
  let end = Date.now() + ms;
  let better = false;
  for (;;) {
    const v = judge(events, want);
    if (plainYes(v) || Date.now() >= end) return v;
    if (v?.status === "detected" && !better) {
      better = true;
      end = Math.min(end, Date.now() + 1000);
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}

for (const strategy of ["fentry", "kprobe", "tracepoint"] as StrategyName[]) {
  const dir = await Deno.makeTempDir({ prefix: `cov-${strategy}-` });
  const files = ROWS.map((_, i) => `${dir}/row${i}`);
  for (const f of files) await Deno.writeTextFile(f, "original content\n".padEnd(16384, "."));
  const events: ChangeEvent[] = [];
  let agent: Agent;
  try {
    agent = await Agent.start({
      watches: watchesForPaths([dir]),
      outputs: [{ name: "cov", write: (e) => void events.push(e), close: () => Promise.resolve() }],
      force: strategy,
    });
  } catch (e) {
    print(strategy, "*", { status: "unsupported", detail: String(e).split("\n")[0] });
    continue;
  }
  for (const [i, row] of ROWS.entries()) {
    const target = targetOf(row, files[i]);
    const r = await runCmd(commandFor(row, files[i], GUEST_PROGRAM_DIR));
    if (!r.ok) {
      const err = r.err.replaceAll(dir, "…");
      const prog = row.cmd[0] === "sh" || row.cmd[0] === "python3"
        ? row.cmd[0]
        : row.cmd[0].replace(/^.*\//, "");
      print(strategy, row.name, {
        status: "not run",
        detail: `${prog} failed in the guest${row.needs ? `, needs ${row.needs}` : ""}: ${err}`,
      });
      continue;
    }
    const want: Wanted = {
      target,
      action: row.action,
      comm: row.comm,
      // The report must carry the file's final content (the last write was seen).
      sha256: row.finalHash ? (await sha256File(target)).sha256 : undefined,
      writers: row.writers ? writersIn(r.out) : undefined,
    };
    // Writers rows may write after their command returned (a forked child).
    let v = await verdictWithin(events, want, row.writers ? 5000 : 3000);
    if (!v) {
      const before = events.length;
      await agent.reconcile();
      const found = events.slice(before).some((e) =>
        e.file?.path === target && e.event.action === row.action
      );
      const seen = seenOn(events.filter((e) => e.file?.path === target).slice(0, 4));
      v = { status: "missed", reconciled: found, detail: `live: ${seen}` };
    }
    print(strategy, row.name, v);
  }
  const lost = [...new Set(agent.kernel.lost.map((l) => l.lost))];
  print(strategy, "coverage lost", { status: "info", detail: lost.join("; ") });
  await agent.stop();
  await Deno.remove(dir, { recursive: true });
}

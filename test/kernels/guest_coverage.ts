/**
 * Runs inside a guest kernel: every change method of test/coverage_methods.ts
 * under each strategy forced, so the fentry and kprobe objects' coverage is
 * proven where they load. Prints one `BPFINK-COV {json}` line per method and
 * strategy. Methods whose tool is not in the guest are reported as not run.
 *
 * @module
 */
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import type { StrategyName } from "../../kernels/strategies.ts";
import { commandFor, RESOLVED_ROWS, ROWS as BASE_ROWS, targetOf } from "../coverage_methods.ts";

const ROWS = [...BASE_ROWS, ...RESOLVED_ROWS];
import { sha256File } from "../../src/watch/file_state.ts";
import { errorMessage } from "../../src/error_message.ts";

async function runCmd(cmd: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const r = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdout: "null",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(r.stderr).split("\n").filter((l) => l.trim());
    return { ok: r.success, err: lines.at(-1) ?? "" };
  } catch (e) {
    return { ok: false, err: errorMessage(e) };
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
    console.log(
      `BPFINK-COV ${
        JSON.stringify({
          strategy,
          method: "*",
          status: "unsupported",
          detail: String(e).split("\n")[0],
        })
      }`,
    );
    continue;
  }
  for (const [i, row] of ROWS.entries()) {
    const target = targetOf(row, files[i]);
    const r = await runCmd(commandFor(row, files[i]));
    // Rows that need it: the report must carry the file's final content (the last write was seen).
    const finalHash = row.finalHash && r.ok ? (await sha256File(target)).sha256 : undefined;
    let status = "missed";
    let detail = "";
    if (!r.ok) {
      status = "not run";
      detail = `${row.cmd[0]} failed in the guest: ${r.err.replaceAll(dir, "…")}`;
    } else {
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        const hit = events.find((e) =>
          e.file?.path === target && e.event.action === row.action &&
          (!finalHash || e.file?.hash?.sha256 === finalHash)
        );
        if (hit) {
          status = hit.process?.name === row.comm ? "detected" : "detected, other process name";
          detail = hit.process?.name ?? "";
          break;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    }
    console.log(`BPFINK-COV ${JSON.stringify({ strategy, method: row.name, status, detail })}`);
  }
  const lost = [...new Set(agent.kernel.lost.map((l) => l.lost))];
  console.log(
    `BPFINK-COV ${
      JSON.stringify({ strategy, method: "coverage lost", status: "info", detail: lost.join("; ") })
    }`,
  );
  await agent.stop();
  await Deno.remove(dir, { recursive: true });
}

/**
 * The coverage matrix: every change method from test/coverage_methods.ts run
 * against bpfink (the strategy this kernel picks), inotifywait, auditd
 * (`-w DIR -p wa`) and `aide --check` after the fact, side by side. Each cell
 * says whether the change was detected, how soon after the command started,
 * and whether the tool named the process. Then the cost of each tool under a
 * write flood (CPU, RSS) and per unwatched write, in the same run.
 *
 *   sudo deno run -A bench/coverage/compare.ts        (needs inotify-tools, auditd, aide)
 *
 * @module
 */
import { writeGenerated } from "../../test/generated_docs.ts";
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { commandFor, ROWS, targetOf } from "../../test/coverage_methods.ts";
import { table } from "../bench_env.ts";
import { Auditd } from "./auditd.ts";

interface Cell {
  detected: boolean;
  ms?: number;
  named?: boolean;
  note?: string;
}

import { AUDIT_KEY } from "./auditd.ts";

async function out(
  cmd: string[],
  opts: { ok?: boolean } = {},
): Promise<{ code: number; text: string }> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (opts.ok && !r.success) throw new Error(`${cmd.join(" ")}: ${text}`);
  return { code: r.code, text };
}

function fmt(c: Cell): string {
  if (!c.detected) return `missed${c.note ? ` (${c.note})` : ""}`;
  return `yes, ${c.ms?.toFixed(0)} ms${
    c.named === undefined ? "" : c.named ? ", names it" : ", no process"
  }`;
}

async function compareRow(i: number, auditd: Auditd, base: string): Promise<Record<string, Cell>> {
  const row = ROWS[i];
  const dir = `${base}/row${i}`;
  await Deno.mkdir(dir);
  const file = `${dir}/file${i}`;
  await Deno.writeTextFile(file, "original content\n".padEnd(16384, "."));
  const target = targetOf(row, file);
  const cells: Record<string, Cell> = {};

  // aide: a database of the directory before the change.
  const aideConf = `${base}/aide-${i}.conf`;
  await Deno.writeTextFile(
    aideConf,
    `database_in=file:${base}/aide-${i}.db\ndatabase_out=file:${base}/aide-${i}.db.new\n` +
      `${dir} p+i+n+u+g+s+m+c+sha256+xattrs\n`,
  );
  await out(["aide", "--init", "-c", aideConf]);
  await Deno.rename(`${base}/aide-${i}.db.new`, `${base}/aide-${i}.db`);

  // inotifywait on the directory.
  // Changes only (not the reads every tool, bpfink included, makes).
  const inoEvents =
    "modify,attrib,close_write,moved_to,moved_from,create,delete,delete_self,move_self";
  const ino = new Deno.Command("inotifywait", {
    args: ["-m", "-r", "-q", "-e", inoEvents, "--format", "%e %w%f", dir],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const inoLines: { at: number; line: string }[] = [];
  const inoRead = (async () => {
    for await (const chunk of ino.stdout.pipeThrough(new TextDecoderStream())) {
      for (const line of chunk.split("\n")) {
        if (line) inoLines.push({ at: performance.now(), line });
      }
    }
  })();
  // auditd watch.
  if (!auditd.reason) await out(["auditctl", "-w", dir, "-p", "wa", "-k", AUDIT_KEY], { ok: true });
  // bpfink.
  const events: { at: number; e: ChangeEvent }[] = [];
  const agent = await Agent.start({
    watches: watchesForPaths([dir]),
    outputs: [{
      name: "cmp",
      write: (e) => void events.push({ at: performance.now(), e }),
      close: () => Promise.resolve(),
    }],
  });
  await new Promise((r) => setTimeout(r, 300)); // inotifywait sets its watches
  const auditBefore = auditd.log().length;
  const t0 = performance.now();
  const r = await out(commandFor(row, file));
  const deadline = performance.now() + 2000;
  let auditAt: number | undefined;
  let auditNamed = false;
  while (performance.now() < deadline) {
    if (!auditd.reason && auditAt === undefined) {
      const fresh = auditd.log().slice(auditBefore);
      const recs = fresh.split("\n").filter((l) =>
        l.includes(`key="${AUDIT_KEY}"`) || l.includes(target)
      );
      if (recs.some((l) => l.includes(target) || l.includes(`name="${target.split("/").pop()}"`))) {
        auditAt = performance.now();
        auditNamed = fresh.includes(`comm="${row.comm}"`);
      }
    }
    const bp = events.find((x) => x.e.file?.path === target && x.e.event.action === row.action);
    const inoHit = inoLines.find((x) => x.line.endsWith(target));
    if (bp && inoHit && (auditAt !== undefined || auditd.reason)) break;
    await new Promise((res) => setTimeout(res, 5));
  }
  const bp = events.find((x) => x.e.file?.path === target && x.e.event.action === row.action);
  cells.bpfink = bp ? { detected: true, ms: bp.at - t0, named: bp.e.process?.name === row.comm } : {
    detected: false,
    note: events.some((x) => x.e.file?.path === target) ? "other action" : undefined,
  };
  const inoHit = inoLines.find((x) => x.line.endsWith(target));
  cells.inotifywait = inoHit
    ? { detected: true, ms: inoHit.at - t0, named: false }
    : { detected: false };
  cells.auditd = auditd.reason
    ? { detected: false, note: "n/a, see below" }
    : auditAt !== undefined
    ? { detected: true, ms: auditAt - t0, named: auditNamed }
    : { detected: false };
  // aide after the fact.
  const a0 = performance.now();
  const check = await out(["aide", "--check", "-c", aideConf]);
  cells.aide = check.code !== 0 && check.text.includes(target)
    ? { detected: true, ms: performance.now() - a0, named: false, note: "on demand" }
    : { detected: false };
  if (r.code !== 0) {
    for (const c of Object.values(cells)) c.note = `command failed: ${r.text.split("\n")[0]}`;
  }

  await agent.stop();
  ino.kill("SIGTERM");
  await ino.status;
  await inoRead.catch(() => {});
  if (!auditd.reason) await out(["auditctl", "-W", dir, "-p", "wa", "-k", AUDIT_KEY]);
  return cells;
}

if (import.meta.main) {
  const base = await Deno.makeTempDir({ prefix: "bpfink-cmp-" });
  const auditd = new Auditd(base);
  await auditd.start();
  const rows: string[][] = [];
  const totals: Record<string, number> = { bpfink: 0, inotifywait: 0, auditd: 0, aide: 0 };
  try {
    for (let i = 0; i < ROWS.length; i++) {
      const cells = await compareRow(i, auditd, base);
      for (const [k, c] of Object.entries(cells)) if (c.detected) totals[k]++;
      rows.push([
        ROWS[i].name,
        fmt(cells.bpfink),
        fmt(cells.inotifywait),
        fmt(cells.auditd),
        fmt(cells.aide),
      ]);
      console.error(`${ROWS[i].name}: ${rows.at(-1)!.slice(1).join(" | ")}`);
    }
  } finally {
    await auditd.stop();
    await Deno.remove(base, { recursive: true });
  }
  rows.push([
    "**detected**",
    ...["bpfink", "inotifywait", "auditd", "aide"].map((k) => `**${totals[k]}/${ROWS.length}**`),
  ]);
  const title = `Coverage: ${ROWS.length} change methods (kernel ${Deno.osRelease()}, ${
    new Date().toISOString().slice(0, 10)
  })`;
  const md = [
    `#### ${title}`,
    "",
    table(["method", "bpfink", "inotifywait", "auditd -w -p wa", "aide --check"], rows),
    "",
    ...(auditd.reason ? [`auditd: ${auditd.reason}.`, ""] : []),
    "inotifywait reports a write through a hard link under the link's name, not the watched file's. " +
    "aide only sees a change when it is run, and never says who made it.",
  ].join("\n");
  const stamp =
    "Generated by `deno run -A bench/coverage/compare.ts`. Time is from the command's start to the tool's report.";
  console.log(md);
  await writeGenerated("compare", "bench/results/coverage.md", title, md, stamp);
}

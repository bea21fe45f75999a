/**
 * The real-workload suite: `bpfink --paths ROOT -r --json`, as a user runs
 * it, watches a tree while real tools (git, rsync, tar, cp, sed, patch, vim,
 * mv, rm, ln, mkfifo, chmod, chown) change it. Ground-truth snapshots taken
 * before and after each workload say what really changed; every changed path
 * must be reported with a truthful action and the process that did it, and no
 * unchanged path may be reported as changed. Three rounds in a row.
 */
import { assert } from "../assert.ts";
import { tempDir } from "../helpers.ts";
import { judge, type Report, type Verdict } from "./check.ts";
import { diffSnapshots, snapshot } from "./snapshot.ts";
import { WORKLOADS } from "./workloads.ts";

const ROUNDS = Number(Deno.env.get("BPFINK_WORKLOAD_ROUNDS") ?? "3");
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** bpfink's CLI, its JSON lines collected as they arrive. */
async function startBpfink(root: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "--paths", root, "-r", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const events: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const read = async (s: ReadableStream<Uint8Array>, onLine: (l: string) => void) => {
    let buf = "";
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  };
  const done = Promise.all([
    read(child.stdout, (l) => events.push(JSON.parse(l))),
    read(child.stderr, (l) => stderr.push(l)),
  ]);
  const started = () => events.some((e) => (e.event as { action: string }).action === "started");
  for (let i = 0; i < 1200 && !started(); i++) await new Promise((r) => setTimeout(r, 100));
  assert(started(), `bpfink did not start: ${stderr.join("\n")}`);
  return {
    events,
    stderr,
    async stop() {
      child.kill("SIGINT");
      await done;
      const status = await child.status;
      assert(status.code === 0, `bpfink exited ${status.code}: ${stderr.join("\n")}`);
    },
  };
}

/** Waits until no event has arrived for `quietMs` (at most `maxMs`). */
async function settle(events: unknown[], quietMs = 1500, maxMs = 15000): Promise<void> {
  const end = Date.now() + maxMs;
  let n = events.length;
  let last = Date.now();
  while (Date.now() < end && Date.now() - last < quietMs) {
    await new Promise((r) => setTimeout(r, 100));
    if (events.length !== n) [n, last] = [events.length, Date.now()];
  }
}

/** A bpfink JSON event as a tool-neutral report. */
function toReport(e: Record<string, unknown>): Report | undefined {
  const file = e.file as { path?: string } | undefined;
  const event = e.event as { action: string };
  if (!file?.path) return undefined;
  const proc = e.process as { name?: string } | undefined;
  const b = e.bpfink as { content_changed?: boolean } | undefined;
  return {
    path: file.path,
    action: event.action,
    comm: proc?.name,
    unchanged: b?.content_changed === false,
  };
}

Deno.test("workloads: real tools against ground truth, every change found and named, nothing invented", async () => {
  await using root = await tempDir("bpfink-workloads-");
  const dirs = new Map<string, string>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, w] of WORKLOADS.entries()) {
      const dir = `${root.path}/r${r}w${i}`;
      await Deno.mkdir(dir);
      await w.setup(dir);
      dirs.set(`${r}/${i}`, dir);
    }
  }
  const bpfink = await startBpfink(root.path);
  const failures: string[] = [];
  const rows: string[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, w] of WORKLOADS.entries()) {
        const dir = dirs.get(`${r}/${i}`)!;
        const before = await snapshot(dir);
        const mark = bpfink.events.length;
        await w.act(dir);
        await settle(bpfink.events);
        const after = await snapshot(dir);
        const reports = bpfink.events.slice(mark).map(toReport).filter((x) => x !== undefined)
          .filter((x) => x.path === dir || x.path.startsWith(`${dir}/`));
        const v: Verdict = judge(before, after, diffSnapshots(before, after), reports, w.comms);
        rows.push(
          `round ${
            r + 1
          } ${w.name}: found ${v.found}/${v.changed}, false ${v.falseReports.length}, unnamed ${v.unnamed.length}`,
        );
        const bad = [
          ...v.missed.map((m) => `missed ${m}`),
          ...v.falseReports.map((m) => `false ${m}`),
          ...v.unnamed.map((m) => `unnamed ${m}`),
        ];
        if (bad.length) failures.push(`round ${r + 1} ${w.name}:\n    ${bad.join("\n    ")}`);
      }
    }
  } finally {
    await bpfink.stop();
  }
  console.log(rows.join("\n"));
  assert(failures.length === 0, `\n  ${failures.join("\n  ")}`);
});

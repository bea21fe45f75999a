/**
 * SIGINT or SIGTERM at any moment of startup: bpfink exits 0 and leaves no
 * BPF link of its own (the link ids its pid held, seen with bpftool), no
 * canary temp file, and the database lock free. The daemon logs its start
 * and stop, and the file output makes its directory and keeps `started`.
 */
import { assert, assertEquals } from "../assert.ts";
import { run, tempDir, waitFor } from "../helpers.ts";
import { assertNoStackTrace, collect } from "./fault_helpers.ts";

const DENO = "node_modules/.bin/deno";

/**
 * Link ids held by `pid` right now: the `link_id` of each of its BPF link
 * fds (/proc/PID/fdinfo; bpftool shows no holders on this kernel).
 */
async function linksOf(pid: number): Promise<number[]> {
  const ids: number[] = [];
  try {
    for await (const fd of Deno.readDir(`/proc/${pid}/fdinfo`)) {
      try {
        const info = await Deno.readTextFile(`/proc/${pid}/fdinfo/${fd.name}`);
        const id = /^link_id:\s+(\d+)$/m.exec(info)?.[1];
        if (id) ids.push(Number(id));
      } catch { /* closed meanwhile */ }
    }
  } catch { /* not started yet, or gone */ }
  return ids;
}

async function config(dir: string, outDir: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/app.conf`, "a=1\n");
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    path,
    `watches:\n  - ${dir}/app.conf\ndatabase: ${dir}/state/bpfink.db\nkey_file: ${dir}/state/k\n` +
      `log_level: info\nstrategy: tracepoint\noutputs:\n  - type: stdout\n    format: json\n` +
      `  - type: file\n    path: ${outDir}/events.json\n`,
  );
  return path;
}

function spawn(cfg: string) {
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", "src/main.ts", "run", "--config", cfg],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, ...collect(child) };
}

Deno.test("faults: SIGINT/SIGTERM at 20 random moments of startup → exit 0, no link of its own left", async () => {
  await using dir = await tempDir();
  const cfg = await config(dir.path, `${dir.path}/out`);
  // How long a start takes here, to spread the signals over it.
  const t0 = Date.now();
  const probe = spawn(cfg);
  const probeLinks = new Set<number>();
  // From its first log line on, bpfink handles the signals (before, Deno itself is booting).
  assert(
    await waitFor(() => probe.out.stderr.includes('"starting bpfink'), 60_000),
    probe.out.stderr,
  );
  const firstLineMs = Date.now() - t0;
  assert(await waitFor(() => probe.out.stdout.includes('"started"'), 60_000), probe.out.stderr);
  const startMs = Date.now() - t0;
  for (const id of await linksOf(probe.child.pid)) probeLinks.add(id);
  assert(probeLinks.size > 0, "the running agent's links are not visible in its fdinfo");
  probe.child.kill("SIGTERM");
  assertEquals((await probe.child.status).code, 0, probe.out.stderr);
  await probe.done;
  // Start and stop lines in the daemon's log; the file output made its directory and kept `started`.
  assert(/"message":"started \(pid \d+\)/.test(probe.out.stderr), probe.out.stderr);
  assert(/"message":"stopped by SIGTERM/.test(probe.out.stderr), probe.out.stderr);
  const written = await Deno.readTextFile(`${dir.path}/out/events.json`);
  assert(written.includes('"action":"started"'), written);

  const outcomes: string[] = [];
  const pids: number[] = [];
  for (let i = 0; i < 20; i++) {
    const sig: Deno.Signal = i % 2 ? "SIGTERM" : "SIGINT";
    const at = Math.random() * (startMs - firstLineMs + 300);
    const p = spawn(cfg);
    pids.push(p.child.pid);
    assert(await waitFor(() => p.out.stderr.includes('"starting bpfink'), 60_000), p.out.stderr);
    const seen = new Set<number>();
    const end = Date.now() + at;
    while (Date.now() < end) {
      for (const id of await linksOf(p.child.pid)) seen.add(id);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of await linksOf(p.child.pid)) seen.add(id);
    p.child.kill(sig);
    const status = await p.child.status;
    await p.done;
    assertEquals(
      [status.code, status.signal],
      [0, null],
      `${sig} after ${at.toFixed(0)} ms: ${p.out.stderr}`,
    );
    assertNoStackTrace(p.out.stderr);
    const now = new Set(
      (JSON.parse((await run(["bpftool", "-j", "link", "list"])).stdout || "[]") as {
        id: number;
      }[]).map((l) => l.id),
    );
    const left = [...seen].filter((id) => now.has(id));
    assertEquals(left, [], `links of pid ${p.child.pid} left after ${sig} at ${at.toFixed(0)} ms`);
    outcomes.push(`${sig}@${at.toFixed(0)}ms:${seen.size}links`);
  }
  // No canary file of ours is left in /tmp (their names carry the pid that made them).
  for await (const e of Deno.readDir("/tmp")) {
    if (!e.name.startsWith("bpfink-canary-")) continue;
    try {
      for await (const f of Deno.readDir(`/tmp/${e.name}`)) {
        const owner = /^bpfink-canary-(\d+)-/.exec(f.name)?.[1];
        assert(!pids.includes(Number(owner)), `canary left behind: /tmp/${e.name}/${f.name}`);
      }
    } catch { /* another agent's, removed meanwhile */ }
  }
  // The lock is free: a last start works.
  const last = spawn(cfg);
  assert(await waitFor(() => last.out.stdout.includes('"started"'), 60_000), last.out.stderr);
  last.child.kill("SIGINT");
  assertEquals((await last.child.status).code, 0);
  await last.done;
  console.log(`start took ${startMs} ms here; signals: ${outcomes.join(" ")}`);
});

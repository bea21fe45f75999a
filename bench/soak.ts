/**
 * Soak: the daemon under mixed load for a while (default 10 minutes):
 * appends, create/delete churn and renames in a watched tree, with the HTTP
 * receiver down for a minute in the middle. Every 10 s it samples the
 * agent's RSS, open fds, threads and CPU; at the end it accounts for every
 * event the agent emitted (stdout, by `event.id`): delivered to the HTTP
 * receiver, redelivered (same id, flagged), or lost.
 *
 *   sudo deno run -A bench/soak.ts [--minutes 10]
 *
 * The agent runs as `./bpfink` starts it (its Deno flags) with the
 * `Environment=` of the shipped systemd unit, and the last sample is taken
 * 30 s after the load and the drain (the agent gives memory back once a
 * burst is over: src/agent/quiet_give_back.ts).
 *
 * Writes bench/results/soak.md and the README's soak section.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeGenerated } from "../test/generated_docs.ts";
import { table } from "./bench_env.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({ args: Deno.args, options: { minutes: { type: "string" } } });
const LOAD_MS = Number(values.minutes ?? 10) * 60_000;
const OUTAGE_MS = Math.min(60_000, LOAD_MS / 4);
const SAMPLE_MS = 10_000;
/** How long the agent is left idle after the load and the drain before the last sample. */
const QUIET_MS = 30_000;
/** The `Environment=` settings of the shipped systemd unit: the agent runs as it would there. */
const UNIT_ENV = Object.fromEntries(
  [
    ...Deno.readTextFileSync(`${ROOT}deploy/systemd/bpfink.service`).matchAll(
      /^Environment=(\w+)=(.*)$/gm,
    ),
  ].map((m) => [m[1], m[2]]),
);

interface Sample {
  t: number;
  rssMiB: number;
  /** Private anonymous memory (heaps, stacks): what a leak grows. */
  anonMiB: number;
  fds: number;
  threads: number;
  cpuS: number;
}

const HZ = 100;
function sample(pid: number, t0: number): Sample {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const num = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let fds = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) fds++;
  const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const anonKiB = Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? NaN);
  return {
    t: Math.round((Date.now() - t0) / 1000),
    rssMiB: num("VmRSS") / 1024,
    anonMiB: anonKiB / 1024,
    fds,
    threads: num("Threads"),
    cpuS: (Number(fields[11]) + Number(fields[12])) / HZ,
  };
}

const dir = await Deno.makeTempDir({ prefix: "bpfink-soak-" });
const tree = `${dir}/tree`;
await Deno.mkdir(tree);
for (let i = 0; i < 50; i++) await Deno.writeTextFile(`${tree}/f${i}.conf`, `v=0\n`);

// The HTTP receiver: every delivered event by id, and how many copies were flagged redelivered.
const delivered = new Map<string, number>();
let redeliveredCopies = 0;
const listen = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (listen.addr as Deno.NetAddr).port;
listen.close();
let server: Deno.HttpServer | undefined;
const startReceiver = () => {
  server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    for (const line of (await req.text()).split("\n")) {
      if (!line) continue;
      const e = JSON.parse(line);
      delivered.set(e.event.id, (delivered.get(e.event.id) ?? 0) + 1);
      if (e.bpfink?.redelivered) redeliveredCopies++;
    }
    return new Response("ok");
  });
};
startReceiver();

const config = `${dir}/config.yaml`;
await Deno.writeTextFile(
  config,
  `watches:\n  - path: ${tree}\n    recursive: true\ndatabase: ${dir}/state/bpfink.db\n` +
    `key_file: ${dir}/state/hmac.key\nlog_level: warning\nstrategy: tracepoint\n` +
    `outputs:\n  - type: stdout\n    format: json\n` +
    `  - type: http\n    url: http://127.0.0.1:${port}/ingest\n    format: ndjson\n` +
    `    max_retries: 2\n    flush_interval: 200ms\n`,
);
// As ./bpfink starts it (Deno's flags), with the shipped unit's environment
// (deploy/systemd/bpfink.service). The launcher execs Deno: its pid is the agent's.
const child = new Deno.Command(`${ROOT}bpfink`, {
  args: ["run", "--config", config],
  cwd: ROOT,
  env: UNIT_ENV,
  stdin: "null",
  stdout: "piped",
  stderr: "piped",
}).spawn();
const emitted = new Set<string>();
let started = false;
let stderr = "";
const reading = Promise.all([
  (async () => {
    let buf = "";
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += c;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const e = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (e.event.action === "started") started = true;
        emitted.add(e.event.id);
      }
    }
  })(),
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) stderr += c;
  })(),
]);
while (!started) await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 5000)); // settle after the start
const t0 = Date.now();
const samples: Sample[] = [sample(child.pid, t0)];
const sampler = setInterval(() => samples.push(sample(child.pid, t0)), SAMPLE_MS);

// Mixed load; the receiver is down for OUTAGE_MS in the middle.
let ops = 0;
let outage: { from: number; to: number } | undefined;
const loadEnd = t0 + LOAD_MS;
while (Date.now() < loadEnd) {
  const elapsed = Date.now() - t0;
  if (!outage && elapsed > LOAD_MS / 2 - OUTAGE_MS / 2) {
    await server?.shutdown();
    server = undefined;
    outage = { from: elapsed, to: elapsed + OUTAGE_MS };
  }
  if (outage && !server && elapsed > outage.to) startReceiver();
  const i = ops % 50;
  switch (ops % 4) {
    case 0:
    case 1:
      await Deno.writeTextFile(`${tree}/f${i}.conf`, `v=${ops}\n`, { append: true });
      break;
    case 2: {
      const p = `${tree}/churn-${ops}.tmp`;
      await Deno.writeTextFile(p, "x\n");
      await Deno.remove(p);
      break;
    }
    case 3:
      await Deno.writeTextFile(`${tree}/next-${i}`, `v=${ops}\n`);
      await Deno.rename(`${tree}/next-${i}`, `${tree}/f${i}.conf`);
      break;
  }
  ops++;
  await new Promise((r) => setTimeout(r, 50));
}
if (!server) startReceiver();
// Drain: wait until every emitted event reached the receiver (redelivery backs off up to minutes).
const drainEnd = Date.now() + 5 * 60_000;
while (Date.now() < drainEnd && [...emitted].some((id) => !delivered.has(id))) {
  await new Promise((r) => setTimeout(r, 1000));
}
// Then quiet: what the agent holds after the load, not during its last deliveries.
await new Promise((r) => setTimeout(r, QUIET_MS));
clearInterval(sampler);
const last = sample(child.pid, t0);
samples.push(last);
child.kill("SIGTERM");
const status = await child.status;
await reading;
await server?.shutdown();
await Deno.remove(dir, { recursive: true });

const first = samples[0];
const peak = Math.max(...samples.map((s) => s.rssMiB));
const lost = [...emitted].filter((id) => !delivered.has(id)).length;
const duplicates = [...delivered.values()].filter((n) => n > 1).length;
const when = new Date().toISOString().slice(0, 10);
const body = [
  `#### Soak: ${LOAD_MS / 60_000} min of mixed load, HTTP receiver down for ${
    OUTAGE_MS / 1000
  } s in the middle`,
  "",
  table(
    ["", "at start", "peak", `${QUIET_MS / 1000} s after the load (drained)`, "growth"],
    [
      [
        "RSS",
        `${first.rssMiB.toFixed(0)} MiB`,
        `${peak.toFixed(0)} MiB`,
        `${last.rssMiB.toFixed(0)} MiB`,
        `${((last.rssMiB / first.rssMiB - 1) * 100).toFixed(1)} %`,
      ],
      ...(["anonMiB", "fileMiB"] as const).map((k) => {
        const v = (x: Sample) => k === "anonMiB" ? x.anonMiB : x.rssMiB - x.anonMiB;
        return [
          k === "anonMiB"
            ? "RSS: private anonymous (heaps, stacks)"
            : "RSS: file-backed and shared (Deno's code, the ring buffer)",
          `${v(first).toFixed(0)} MiB`,
          `${Math.max(...samples.map(v)).toFixed(0)} MiB`,
          `${v(last).toFixed(0)} MiB`,
          `${((v(last) / v(first) - 1) * 100).toFixed(1)} %`,
        ];
      }),
      [
        "open fds",
        first.fds,
        Math.max(...samples.map((s) => s.fds)),
        last.fds,
        last.fds - first.fds,
      ],
      [
        "threads",
        first.threads,
        Math.max(...samples.map((s) => s.threads)),
        last.threads,
        last.threads - first.threads,
      ],
      ["CPU time", `${first.cpuS.toFixed(1)} s`, "-", `${last.cpuS.toFixed(1)} s`, "-"],
    ],
  ),
  "",
  table(
    [
      "file operations",
      "events emitted",
      "delivered",
      "redelivered copies",
      "delivered twice",
      "lost",
    ],
    [[
      ops,
      emitted.size,
      [...emitted].filter((id) => delivered.has(id)).length,
      redeliveredCopies,
      duplicates,
      lost,
    ]],
  ),
  "",
  `Exit status ${status.code}; ${samples.length} samples every ${SAMPLE_MS / 1000} s. ` +
  `The agent ran as \`./bpfink\` starts it, with the shipped unit's environment (${
    Object.entries(UNIT_ENV).map(([k, v]) => `${k}=${v}`).join(" ") || "none"
  }).`,
].join("\n");
await writeGenerated(
  "soak",
  "bench/results/soak.md",
  "Soak",
  body,
  `Generated by \`deno run -A bench/soak.ts\` on ${when}.`,
);
console.log(body);
if (status.code !== 0) console.error(stderr);

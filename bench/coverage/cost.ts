/**
 * What each tool costs, side by side in one run: the writer's time per
 * 1-byte write to an unwatched file and to the watched file (a flood of
 * appends), as ratios to no tool measured just before, and the tool's own
 * CPU and RSS idle and under the flood. Tools: bpfink (`--paths FILE`, its
 * own process), `inotifywait -m FILE`, auditd with `-w FILE -p wa`, and
 * fatrace (every write on the machine, as fanotify reports it). aide is a
 * scan on demand, so its row is one --check.
 *
 *   sudo deno run -A bench/coverage/cost.ts
 *
 * @module
 */
import { writeGenerated } from "../../test/generated_docs.ts";
import { buildLoad, runLoad, table } from "../bench_env.ts";
import { Auditd } from "./auditd.ts";
import { type Running, spawnUntil } from "../spawn_until.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const N = 1_000_000;

function procUsage(pid: number): { cpuS: number; rssMiB: number } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const rss = Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]) * 4096;
    return { cpuS: (Number(f[11]) + Number(f[12])) / 100, rssMiB: rss / 1048576 };
  } catch {
    return { cpuS: NaN, rssMiB: NaN };
  }
}

const dir = await Deno.makeTempDir({ prefix: "bpfink-cost-" });
try {
  const load = await buildLoad(dir);
  const file = `${dir}/watched/app.conf`;
  const unwatched = `${dir}/other/unwatched`;
  await Deno.mkdir(`${dir}/watched`);
  await Deno.mkdir(`${dir}/other`);
  await Deno.mkdir(`${dir}/audit`);
  await Deno.writeTextFile(file, "");
  const once = async () => {
    const u = await runLoad(load, "write", unwatched, String(N));
    await Deno.writeTextFile(file, ""); // the flood starts from an empty file each time
    const w = await runLoad(load, "appendn", file, String(N));
    return { u, w };
  };
  // The fastest of three runs: the machine's other load only ever adds time.
  const measureWrites = async () => {
    const runs = [await once(), await once(), await once()];
    return { u: Math.min(...runs.map((r) => r.u)), w: Math.min(...runs.map((r) => r.w)) };
  };
  const auditd = new Auditd(`${dir}/audit`);
  const tools: [string, () => Promise<Running | string>][] = [
    [
      "bpfink --paths FILE",
      () => spawnUntil([`${ROOT}bpfink`, "--paths", file, "--json"], /"started"/),
    ],
    [
      "inotifywait -m FILE",
      () => spawnUntil(["inotifywait", "-m", file], /Watches established/),
    ],
    [
      "auditd, -w FILE -p wa",
      async () => {
        await auditd.start();
        if (auditd.reason) return auditd.reason;
        await auditd.watch(file);
        return {
          pid: auditd.pid!,
          stop: async () => {
            await auditd.watch(file, false);
            await auditd.stop();
          },
        };
      },
    ],
    [
      "fatrace (all writes)",
      () => spawnUntil(["fatrace", "-f", "W"], undefined, { settleMs: 2000 }),
    ],
  ];
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const base = await measureWrites();
  rows.push([
    "no tool",
    base.u.toFixed(0),
    "1.00×",
    base.w.toFixed(0),
    "1.00×",
    "-",
    "-",
    "-",
    "-",
  ]);
  for (const [name, start] of tools) {
    const before = await measureWrites(); // no tool, just before this one
    const t = await start();
    if (typeof t === "string") {
      notes.push(`${name}: not measured: ${t}.`);
      continue;
    }
    try {
      await new Promise((r) => setTimeout(r, 1000)); // settled
      const idle0 = procUsage(t.pid);
      await new Promise((r) => setTimeout(r, 3000));
      const idle1 = procUsage(t.pid);
      const on = await measureWrites();
      await new Promise((r) => setTimeout(r, 500)); // the tool catches up
      const busy = procUsage(t.pid);
      rows.push([
        name,
        on.u.toFixed(0),
        "",
        on.w.toFixed(0),
        "",
        `${(((idle1.cpuS - idle0.cpuS) / 3) * 100).toFixed(1)} %`,
        `${(busy.cpuS - idle1.cpuS).toFixed(2)} s`,
        `${idle1.rssMiB.toFixed(0)} MiB`,
        `${busy.rssMiB.toFixed(0)} MiB`,
      ]);
    } finally {
      await t.stop();
    }
    // ... and just after it stopped: the ratio is to the faster of the two.
    const after = await measureWrites();
    const off = { u: Math.min(before.u, after.u), w: Math.min(before.w, after.w) };
    const row = rows[rows.length - 1];
    row[2] = `${(Number(row[1]) / off.u).toFixed(2)}×`;
    row[4] = `${(Number(row[3]) / off.w).toFixed(2)}×`;
  }
  // aide: one scan of the same directory.
  const conf = `${dir}/aide.conf`;
  await Deno.writeTextFile(
    conf,
    `database_in=file:${dir}/aide.db\ndatabase_out=file:${dir}/aide.db.new\n${dir}/watched p+i+n+u+g+s+m+c+sha256\n`,
  );
  await new Deno.Command("aide", { args: ["--init", "-c", conf], stdout: "null", stderr: "null" })
    .output();
  await Deno.rename(`${dir}/aide.db.new`, `${dir}/aide.db`);
  const t0 = performance.now();
  await new Deno.Command("aide", { args: ["--check", "-c", conf], stdout: "null", stderr: "null" })
    .output();
  rows.push([
    "aide --check (one scan, on demand)",
    "-",
    "1.00× (not live)",
    "-",
    "1.00× (not live)",
    "0 % (not running)",
    `${((performance.now() - t0) / 1000).toFixed(2)} s wall`,
    "-",
    "-",
  ]);
  const title = `Cost beside the other tools (${
    N.toLocaleString("en")
  } 1-byte writes per measure, kernel ${Deno.osRelease()})`;
  const md = [
    `#### ${title}`,
    "",
    table([
      "tool",
      "ns per unwatched write",
      "ratio",
      "ns per watched append (flood)",
      "ratio",
      "tool CPU idle",
      "tool CPU during the two floods",
      "tool RSS idle",
      "tool RSS after the flood",
    ], rows),
    "",
    "Ratios are to no tool, measured just before each tool started and just after it stopped " +
    "(the faster of the two); ns per write is the fastest 1,024-call batch of three runs. auditd's CPU is the daemon's only (the kernel's audit work " +
    "shows in the write columns). An audit watch (`-p wa`) records the open for writing, " +
    "truncate, rename and attribute changes, not each write(2): the flood gives it two records.",
    ...(notes.length ? ["", ...notes] : []),
  ].join("\n");
  console.log(md);
  await writeGenerated(
    "cost",
    "bench/results/cost.md",
    title,
    md,
    `Generated by \`deno run -A bench/coverage/cost.ts\` on ${
      new Date().toISOString().slice(0, 10)
    }.`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}

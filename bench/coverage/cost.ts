/**
 * What each tool costs, side by side in one run: the writer's time for a
 * flood of 1-byte writes to a watched file (ratio to no tool), and the tool's
 * own CPU time and RSS while idle and during the flood. bpfink runs as its
 * own process here, like the others. auditd is measured when this kernel
 * sends it records; aide is a scan on demand, so its row is one --check.
 *
 *   sudo deno run -A bench/coverage/cost.ts
 *
 * @module
 */
import { table } from "../bench_env.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const N = 200_000;

function procUsage(pid: number): { cpuS: number; rssMiB: number } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const rss = Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]) * 4096;
    return { cpuS: (Number(f[11]) + Number(f[12])) / 100, rssMiB: rss / 1048576 };
  } catch {
    return { cpuS: 0, rssMiB: 0 };
  }
}

async function flood(load: string, file: string): Promise<number> {
  const out = await new Deno.Command(load, { args: ["appendn", file, String(N)], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

const dir = await Deno.makeTempDir({ prefix: "bpfink-cost-" });
try {
  const load = `${dir}/load`;
  const cc = await new Deno.Command("gcc", { args: ["-O2", "-o", load, `${ROOT}bench/c/load.c`] })
    .output();
  if (!cc.success) throw new Error("gcc failed");
  const file = `${dir}/watched/app.conf`;
  await Deno.mkdir(`${dir}/watched`);
  await Deno.writeTextFile(file, "");
  const rows: (string | number)[][] = [];
  const base = await flood(load, file);
  rows.push(["no tool", base.toFixed(0), "1.00×", "-", "-", "-"]);
  const tools: [string, string[]][] = [
    ["bpfink (--paths)", [`${ROOT}bpfink`, "--paths", `${dir}/watched`, "--json"]],
    ["inotifywait -m -r", ["inotifywait", "-m", "-r", "-q", `${dir}/watched`]],
  ];
  for (const [name, cmd] of tools) {
    const child = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" })
      .spawn();
    await new Promise((r) => setTimeout(r, 4000)); // started and settled
    const idle0 = procUsage(child.pid);
    await new Promise((r) => setTimeout(r, 2000));
    const idle1 = procUsage(child.pid);
    const ns = await flood(load, file);
    await new Promise((r) => setTimeout(r, 500));
    const busy = procUsage(child.pid);
    child.kill("SIGINT");
    await child.status;
    rows.push([
      name,
      ns.toFixed(0),
      `${(ns / base).toFixed(2)}×`,
      `${(((idle1.cpuS - idle0.cpuS) / 2) * 100).toFixed(1)} %`,
      `${(busy.cpuS - idle1.cpuS).toFixed(2)} s`,
      `${busy.rssMiB.toFixed(0)} MiB`,
    ]);
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
    "0 % (not running)",
    `${((performance.now() - t0) / 1000).toFixed(2)} s wall`,
    "-",
  ]);
  const md = [
    `### Cost beside the other tools (${
      N.toLocaleString("en")
    } appends of 1 byte to a watched file, kernel ${Deno.osRelease()})`,
    "",
    table([
      "tool",
      "ns per write",
      "write ratio",
      "tool CPU idle",
      "tool CPU during the flood",
      "tool RSS",
    ], rows),
    "",
    "auditd is left out: this kernel sends it no syscall records (see the coverage table).",
    "",
  ].join("\n");
  console.log(md);
  await Deno.writeTextFile(`${ROOT}bench/results/cost.md`, md);
} finally {
  await Deno.remove(dir, { recursive: true });
}

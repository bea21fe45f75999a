/**
 * Runs inside a guest kernel: the end-to-end scenario for the automatic
 * choice and for every strategy forced. Prints one `BPFINK-ROW {json}` line
 * per strategy. Uses busybox for the writers and libc's writev through FFI.
 *
 * @module
 */
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import type { ChangeEvent } from "../../src/events/change_event.ts";
import type { StrategyName } from "../../kernels/strategies.ts";

/** One result row. */
export interface GuestRow {
  kernel: string;
  strategy: string;
  status: "pass" | "fail";
  chosen?: string;
  /** The object fell back to its alternate programs (raw_tp twin, probe-read twins). */
  alternate?: boolean;
  /** Coverage the chosen object could not provide here. */
  lost?: string[];
  /** The libbpf the agent loaded. */
  libbpf?: string;
  reason?: string;
  seconds: number;
}

const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  writev: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
});

function writev(path: string, parts: string[]): void {
  const enc = new TextEncoder();
  const bufs = parts.map((p) => enc.encode(p));
  const iov = new BigUint64Array(bufs.length * 2);
  bufs.forEach((b, i) => {
    iov[i * 2] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
    iov[i * 2 + 1] = BigInt(b.length);
  });
  const fd = libc.symbols.open(enc.encode(path + "\0"), 0o2001); // O_WRONLY|O_APPEND
  if (fd < 0) throw new Error(`open ${path} failed`);
  const n = libc.symbols.writev(fd, new Uint8Array(iov.buffer), bufs.length);
  libc.symbols.close(fd);
  if (Number(n) <= 0) throw new Error("writev failed");
}

async function sh(script: string): Promise<number> {
  const c = new Deno.Command("/bin/sh", { args: ["-c", script], stdout: "null", stderr: "piped" })
    .spawn();
  const s = await c.output();
  if (!s.success) throw new Error(`sh -c ${script}: ${new TextDecoder().decode(s.stderr)}`);
  return c.pid;
}

async function until(pred: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
}

async function scenario(force: StrategyName | undefined): Promise<GuestRow> {
  const t0 = Date.now();
  const row: GuestRow = {
    kernel: Deno.osRelease(),
    strategy: force ?? "auto",
    status: "fail",
    seconds: 0,
  };
  const dir = await Deno.makeTempDir({ prefix: `s-${force ?? "auto"}-` });
  const [a, b, d, u] = ["a.conf", "b.conf", "d", "unwatched"].map((n) => `${dir}/${n}`);
  await Deno.writeTextFile(a, "a\n");
  await Deno.writeTextFile(b, "b\n");
  await Deno.mkdir(d);
  await Deno.writeTextFile(`${d}/x`, "x\n");
  await Deno.writeTextFile(u, "u\n");
  const events: ChangeEvent[] = [];
  const agent = await Agent.start({
    watches: watchesForPaths([a, b, d]),
    outputs: [{ name: "guest", write: (e) => void events.push(e), close: () => Promise.resolve() }],
    force,
  });
  const missed: string[] = [];
  const expect = async (what: string, pred: (e: ChangeEvent) => boolean) => {
    if (!(await until(() => events.some(pred)))) missed.push(what);
  };
  try {
    row.chosen = agent.kernel.spec.name;
    row.alternate = agent.trials.find((t) => t.outcome === "chosen")?.alternate ?? false;
    row.lost = [...new Set(agent.kernel.lost.map((l) => l.lost))];
    row.libbpf = agent.libbpf;
    const w = await sh(`echo 1 >> ${a}`);
    await expect(
      "write",
      (e) => e.event.action === "modified" && e.file?.path === a && e.process?.pid === w,
    );
    writev(b, ["x", "y\n"]);
    await expect(
      "writev",
      (e) => e.event.action === "modified" && e.file?.path === b && e.process?.pid === Deno.pid,
    );
    await sh(`echo new > ${dir}/tmp && mv ${dir}/tmp ${a}`);
    await expect("rename-over", (e) => e.event.action === "replaced" && e.file?.path === a);
    const w2 = await sh(`echo 2 >> ${a}`);
    await expect(
      "write after rename-over",
      (e) => e.event.action === "modified" && e.process?.pid === w2,
    );
    // Some shells fork for the last command of -c: name the process, not the pid.
    await sh(`rm ${b}`);
    await expect(
      "unlink",
      (e) => e.event.action === "deleted" && e.file?.path === b && e.process?.name === "rm",
    );
    await sh(`echo c > ${d}/new`);
    await expect(
      "create in directory",
      (e) => e.event.action === "created" && e.file?.path === `${d}/new`,
    );
    await sh(`echo u >> ${u}`);
    await new Promise((r) => setTimeout(r, 300));
    if (events.some((e) => e.file?.path === u)) missed.push("unwatched write was reported");
  } finally {
    await agent.stop();
    await Deno.remove(dir, { recursive: true });
  }
  row.status = missed.length ? "fail" : "pass";
  if (missed.length) row.reason = `missed: ${missed.join(", ")}`;
  row.seconds = (Date.now() - t0) / 1000;
  return row;
}

for (const force of [undefined, "fentry", "kprobe", "tracepoint"] as const) {
  let row: GuestRow;
  try {
    row = await scenario(force);
  } catch (e) {
    row = {
      kernel: Deno.osRelease(),
      strategy: force ?? "auto",
      status: "fail",
      reason: (e instanceof Error ? e.message : String(e)).split("\n")[0],
      seconds: 0,
    };
  }
  console.log(`BPFINK-ROW ${JSON.stringify(row)}`);
}

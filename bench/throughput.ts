/**
 * Events per second delivered for distinct files: K watched files written
 * round-robin as fast as one process can; the callback re-arms each inode on
 * receipt, as the agent does. Kernel counters show what was folded or dropped.
 *
 * @module
 */
import { inodeKeyString, inodeOf } from "../src/watch/inode_key.ts";
import type { InodeId } from "../src/watch/inode_key.ts";
import { type BenchEnv, table } from "./bench_env.ts";

/** Runs the benchmark; returns its Markdown section. */
export async function throughput(env: BenchEnv, quick: boolean): Promise<string> {
  const k = 1000;
  const secs = quick ? 1 : 2;
  const dir = `${env.dir}/tp`;
  await Deno.mkdir(dir);
  const ids = new Map<string, InodeId>();
  for (let i = 0; i < k; i++) {
    await Deno.writeTextFile(`${dir}/f${i}`, "");
    const id = inodeOf(await Deno.stat(`${dir}/f${i}`));
    ids.set(inodeKeyString(id), id);
  }
  const rows: (string | number)[][] = [];
  // Re-armed on receipt through the pump (as the agent reads a ring sized past 4 MiB; here a
  // 1 MiB ring and a 1 MiB queue) and read on the main thread; then never re-armed.
  const modes = [
    {
      rearm: true,
      queue: 1 << 20,
      label: "re-arm on receipt, through the ring's pump (as the agent reads a ring past 4 MiB)",
    },
    { rearm: true, queue: 0, label: "re-arm on receipt, the ring read on the main thread" },
    { rearm: false, queue: 0, label: "never re-arm (one event per file)" },
  ];
  for (const { rearm, queue, label } of modes) {
    let events = 0;
    const a = env.strategy(
      "tracepoint",
      (e) => {
        events++;
        if (rearm) a.kernel!.rearm({ dev: e.dev, ino: e.ino });
      },
      false,
      queue,
    );
    try {
      for (const id of ids.values()) a.kernel!.watchInode(id, 1);
      const t0 = performance.now();
      const writes = await env.load("roundrobin", dir, String(k), String(secs));
      await new Promise((r) => setTimeout(r, 300));
      const elapsed = (performance.now() - t0) / 1000;
      const c = a.kernel!.counters();
      rows.push([
        label,
        Math.round(writes / secs).toLocaleString("en"),
        Math.round(events / elapsed).toLocaleString("en"),
        events.toLocaleString("en"),
        String(c.coalesced),
        String(c.drops),
      ]);
    } finally {
      await a.close();
    }
  }
  return [
    `### Throughput: ${k} watched files written round-robin for ${secs} s`,
    "",
    table([
      "mode",
      "writes/s",
      "events/s delivered",
      "events",
      "coalesced in kernel",
      "ring buffer drops",
    ], rows),
    "",
  ].join("\n");
}

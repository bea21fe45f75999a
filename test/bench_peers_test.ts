/**
 * The peers bench's verdicts (bench/peers.ts): whether each bpfink row meets
 * "at most auditd's cost" and "within 1.05× of inotifywait on watched
 * writes", from the measured numbers, and a tool that cannot start gives one
 * line, from a real process that fails.
 */
import { assertEquals } from "./assert.ts";
import { startFailure } from "../bench/peers.ts";
import {
  aimLines,
  CONTENT_FLOOR,
  costSection,
  designFloorName,
  type ToolCost,
} from "../bench/peers_table.ts";
import { spawnUntil } from "../bench/spawn_until.ts";

const row = (name: string, u: number, w: number, extra: Partial<ToolCost> = {}): ToolCost => ({
  name,
  unwatched: u,
  watched: w,
  offUnwatched: 100,
  offWatched: 100,
  cpuIdlePct: 0,
  cpuFloodS: 0.1,
  rssIdleMiB: 3,
  rssFloodMiB: 3,
  ...extra,
});

Deno.test("a bpfink row below auditd and within 1.05× of inotifywait meets both aims", () => {
  const costs = [
    row("bpfink --paths FILE --probe fentry", 110, 104),
    row("inotifywait -m FILE", 101, 100),
    row("auditd, -w FILE -p wa", 115, 115, { cpuFloodS: 0.2 }),
  ];
  assertEquals(aimLines(costs), [
    "- bpfink --paths FILE --probe fentry: at most auditd's cost on every measure; " +
    "watched write 1.04× against inotifywait's 1.00×: within 1.05×.",
  ]);
});

Deno.test("each measure above auditd's is named, and a watched write past 1.05× of inotifywait's", () => {
  const costs = [
    row("bpfink --paths FILE --probe kprobe", 300, 200, { rssFloodMiB: 80, cpuFloodS: 1 }),
    row("inotifywait -m FILE", 101, 150),
    row("auditd, -w FILE -p wa", 150, 150),
  ];
  assertEquals(aimLines(costs), [
    "- bpfink --paths FILE --probe kprobe: above auditd on unwatched write 3.00× > 1.50×, " +
    "watched write 2.00× > 1.50×, CPU in the floods 1.00 s > 0.10 s, RSS 80 MiB > 3.0 MiB; " +
    "watched write 2.00× against inotifywait's 1.50×: not within 1.05×.",
  ]);
});

Deno.test("a watched write above auditd's says where the design's own floor stands", () => {
  const costs = [
    row("bpfink --paths FILE (picks fentry)", 124, 136),
    row(designFloorName("fexit on vfs_write"), 116, 132),
    row("auditd, -w FILE -p wa", 131, 130),
  ];
  assertEquals(
    aimLines(costs)[0],
    "- bpfink --paths FILE (picks fentry): above auditd on watched write 1.36× > 1.30×; " +
      "the design's floor on the watched write is 1.32×, itself above auditd's 1.30×; " +
      "no inotifywait row to compare with.",
  );
  // Below auditd, the floor is said to be below: the rest is bpfink's own.
  costs[1] = row(designFloorName("fexit on vfs_write"), 116, 120);
  assertEquals(aimLines(costs)[0].includes("floor on the watched write is 1.20×, below"), true);
});

Deno.test("CPU in the floods above auditd's says what a reader of the content spent", () => {
  const costs = [
    row("bpfink --paths FILE (picks tracepoint)", 110, 110, { cpuFloodS: 0.06 }),
    row(CONTENT_FLOOR, 100, 100, { cpuFloodS: 0.01 }),
    row("auditd, -w FILE -p wa", 130, 130, { cpuFloodS: 0 }),
  ];
  assertEquals(
    aimLines(costs)[0],
    "- bpfink --paths FILE (picks tracepoint): above auditd on CPU in the floods 0.06 s > " +
      "0.00 s; a reader of the content spent 0.01 s in the floods; " +
      "no inotifywait row to compare with.",
  );
});

Deno.test("a tie with auditd at the table's precision is at most auditd's cost", () => {
  const costs = [
    row("bpfink --paths FILE (picks fentry)", 136.4, 100),
    row("auditd, -w FILE -p wa", 136.0, 135),
  ];
  assertEquals(
    aimLines(costs)[0].startsWith(
      "- bpfink --paths FILE (picks fentry): at most auditd's cost on every measure;",
    ),
    true,
  );
});

Deno.test("a peer that did not run is a note with its reason, never a row or a verdict", () => {
  const costs = [
    row("bpfink --paths FILE --probe tracepoint", 110, 104),
    { name: "auditd, -w FILE -p wa", reason: "the kernel has no audit support" },
  ];
  const md = costSection("t", row("no tool", 100, 100), costs);
  assertEquals(md.includes("| auditd"), false);
  assertEquals(md.includes("- auditd, -w FILE -p wa: the kernel has no audit support."), true);
  assertEquals(md.includes("no auditd row to compare with"), true);
});

Deno.test("a tool that exits before it is ready gives the last line it printed", async () => {
  const e = await spawnUntil(
    [
      "sh",
      "-c",
      "echo starting; echo 'bpfink: no kernel object works on this kernel.' >&2; exit 1",
    ],
    /never/,
  ).then(() => undefined, (e) => e);
  assertEquals(startFailure(e), "no kernel object works on this kernel");
});

Deno.test("the lines a tool prints about the watched file are counted", async () => {
  const t = await spawnUntil(
    [
      "sh",
      "-c",
      "echo ready; echo 'MODIFY app.conf'; echo other; echo 'MODIFY app.conf'; exec sleep 5",
    ],
    /ready/,
    { count: /app\.conf/ },
  );
  for (let i = 0; i < 50 && t.counted!() < 2; i++) await new Promise((r) => setTimeout(r, 20));
  await t.stop();
  assertEquals(t.counted!(), 2);
});

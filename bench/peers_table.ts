/**
 * The peers bench's table (bench/peers.ts measures): one row per tool that
 * ran, a note per tool that did not, and for each bpfink row whether it
 * meets the aims, from the numbers: at most auditd's cost, and within 1.05×
 * of inotifywait on watched writes.
 *
 * @module
 */
import { table } from "./bench_env.ts";

/** The row name of the mark floor (peers.ts, markFloorTool). */
export const MARK_FLOOR = "a mark that wants no writes (inotifywait -e attrib FILE)";

/** The start of the design floor's row name (peers.ts, designFloorTool), before its hook. */
export const DESIGN_FLOOR = "floor of bpfink's design: an empty";

/** The design floor's row name for `hook`, the hook the strategy bpfink picks catches writes on. */
export function designFloorName(hook: string): string {
  return `${DESIGN_FLOOR} ${hook}, and a mark that wants no writes`;
}

/** The row name of the content floor (peers.ts, contentFloorTool). */
export const CONTENT_FLOOR =
  "a reader of the content: the file read and hashed at each close (load.c hashwatch)";

/** One tool's measured row, or the reason it has none. */
export interface ToolCost {
  name: string;
  /** ns per unwatched write, and per watched append, with the tool running. */
  unwatched?: number;
  watched?: number;
  /** The same with no tool (the faster of just before and just after). */
  offUnwatched?: number;
  offWatched?: number;
  /** % of a CPU over idle seconds; CPU seconds during the floods; RSS in MiB. */
  cpuIdlePct?: number;
  cpuFloodS?: number;
  rssIdleMiB?: number;
  rssFloodMiB?: number;
  /** Why there are no numbers. */
  reason?: string;
}

/** `x` rounded to `digits` decimals, as the table shows it. */
const at = (x: number, digits: number) => Number(x.toFixed(digits));
/** MiB as shown: one decimal below 10 (small tools), none above. */
const mib = (x: number) => x.toFixed(x < 10 ? 1 : 0);

const ratio = (on?: number, off?: number) =>
  on === undefined || off === undefined ? "-" : `${(on / off).toFixed(2)}×`;

/** The table's rows: no tool, then each measured tool (`extra` rows after them). */
export function costRows(base: ToolCost, costs: ToolCost[]): (string | number)[][] {
  return [
    [
      base.name,
      base.unwatched!.toFixed(0),
      "1.00×",
      base.watched!.toFixed(0),
      "1.00×",
      "-",
      "-",
      "-",
      "-",
    ],
    ...costs.filter((c) => !c.reason).map((c) => [
      c.name,
      c.unwatched!.toFixed(0),
      ratio(c.unwatched, c.offUnwatched),
      c.watched!.toFixed(0),
      ratio(c.watched, c.offWatched),
      `${c.cpuIdlePct!.toFixed(1)} %`,
      `${c.cpuFloodS!.toFixed(2)} s`,
      `${mib(c.rssIdleMiB!)} MiB`,
      `${mib(c.rssFloodMiB!)} MiB`,
    ]),
  ];
}

/**
 * Whether each measured bpfink row meets the aims: at most auditd's cost on
 * every measure (write ratios, CPU, RSS), and a watched-write ratio within
 * 1.05× of inotifywait's. One line per bpfink row.
 */
export function aimLines(costs: ToolCost[]): string[] {
  const auditd = costs.find((c) => c.name.startsWith("auditd") && !c.reason);
  const inotify = costs.find((c) => c.name.startsWith("inotifywait") && !c.reason);
  const lines: string[] = [];
  for (const b of costs.filter((c) => c.name.startsWith("bpfink") && !c.reason)) {
    const parts: string[] = [];
    if (auditd) {
      const worse: string[] = [];
      // Compared as shown (a tie at the table's precision is "at most").
      const ru = at(b.unwatched! / b.offUnwatched!, 2);
      const au = at(auditd.unwatched! / auditd.offUnwatched!, 2);
      const rw = at(b.watched! / b.offWatched!, 2),
        aw = at(auditd.watched! / auditd.offWatched!, 2);
      if (ru > au) worse.push(`unwatched write ${ru.toFixed(2)}× > ${au.toFixed(2)}×`);
      if (rw > aw) worse.push(`watched write ${rw.toFixed(2)}× > ${aw.toFixed(2)}×`);
      if (at(b.cpuIdlePct!, 1) > at(auditd.cpuIdlePct!, 1)) {
        worse.push(
          `CPU idle ${b.cpuIdlePct!.toFixed(1)} % > ${auditd.cpuIdlePct!.toFixed(1)} %`,
        );
      }
      if (at(b.cpuFloodS!, 2) > at(auditd.cpuFloodS!, 2)) {
        worse.push(
          `CPU in the floods ${b.cpuFloodS!.toFixed(2)} s > ${auditd.cpuFloodS!.toFixed(2)} s`,
        );
      }
      if (Number(mib(b.rssFloodMiB!)) > Number(mib(auditd.rssFloodMiB!))) {
        worse.push(`RSS ${mib(b.rssFloodMiB!)} MiB > ${mib(auditd.rssFloodMiB!)} MiB`);
      }
      parts.push(
        worse.length
          ? `above auditd on ${worse.join(", ")}`
          : "at most auditd's cost on every measure",
      );
      // What reading the content costs, where bpfink's CPU in the floods is above auditd's.
      const reader = costs.find((c) => c.name === CONTENT_FLOOR && !c.reason);
      if (reader && at(b.cpuFloodS!, 2) > at(auditd.cpuFloodS!, 2)) {
        parts.push(
          `a reader of the content spent ${reader.cpuFloodS!.toFixed(2)} s in the floods`,
        );
      }
      // Where the hook and the mark alone already cost the writer more than auditd does.
      const floor = costs.find((c) => c.name.startsWith(DESIGN_FLOOR) && !c.reason);
      if (floor && rw > aw) {
        const fw = at(floor.watched! / floor.offWatched!, 2);
        parts.push(
          `the design's floor on the watched write is ${fw.toFixed(2)}×, ${
            fw >= aw ? "itself above" : "below"
          } auditd's ${aw.toFixed(2)}×`,
        );
      }
    } else parts.push("no auditd row to compare with");
    if (inotify) {
      const rw = at(b.watched! / b.offWatched!, 2);
      const iw = at(inotify.watched! / inotify.offWatched!, 2);
      parts.push(
        `watched write ${rw.toFixed(2)}× against inotifywait's ${iw.toFixed(2)}×: ${
          rw <= 1.05 * iw ? "within" : "not within"
        } 1.05×`,
      );
    } else parts.push("no inotifywait row to compare with");
    lines.push(`- ${b.name}: ${parts.join("; ")}.`);
  }
  return lines;
}

/** The section: heading, table, how to read it, the aims per bpfink row, and the tools not measured. */
export function costSection(
  title: string,
  base: ToolCost,
  costs: ToolCost[],
  extraRows: (string | number)[][] = [],
): string {
  const notes = costs.filter((c) => c.reason).map((c) => `- ${c.name}: ${c.reason}.`);
  const aims = aimLines(costs);
  return [
    `### ${title}`,
    "",
    table([
      "tool",
      "ns per unwatched write",
      "ratio",
      "ns per watched append (flood)",
      "ratio",
      "tool CPU idle",
      "tool CPU during the floods",
      "tool RSS idle",
      "tool RSS after the flood",
    ], [...costRows(base, costs), ...extraRows]),
    "",
    "Ratios are to no tool, measured just before each tool started and just after it stopped " +
    "(the faster of the two); ns per write is the fastest 1,024-call batch of three runs. " +
    "auditd's CPU is the daemon's only (the kernel's audit work shows in the write columns). " +
    "Idle CPU is measured over 3 s once a tool's CPU time has stood still for 2 s after its " +
    "start. " +
    "An audit watch (`-p wa`) records the open for writing, truncate, rename and attribute " +
    "changes, not each write(2): a flood gives it a record or two." +
    (costs.some((c) => c.name === MARK_FLOOR && !c.reason)
      ? ` The row "${MARK_FLOOR}" reports none of the writes: its watched column is what ` +
        "the kernel charges every write to a file that carries any fsnotify mark (bpfink's " +
        "fanotify safety net puts one on each watched file)."
      : "") +
    (costs.some((c) => c.name === CONTENT_FLOOR && !c.reason)
      ? ` The row "${CONTENT_FLOOR}" is the least CPU a tool that knows what the writes did ` +
        "spends: one read and hash of the file per flood, and no more (auditd's daemon never " +
        "reads it)."
      : "") +
    ((floor) =>
      floor
        ? ` The row "${floor.name}" adds to that mark the empty program on the hook where the ` +
          "object bpfink picks catches writes: what the kernel charges for the hook and the " +
          "mark alone, before any work of bpfink's."
        : "")(costs.find((c) => c.name.startsWith(DESIGN_FLOOR) && !c.reason)),
    ...(aims.length
      ? [
        "",
        "Aims (at most auditd's cost; within 1.05× of inotifywait on watched writes):",
        "",
        ...aims,
      ]
      : []),
    ...(notes.length ? ["", "Not measured here:", "", ...notes] : []),
  ].join("\n");
}

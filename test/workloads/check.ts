/**
 * Judges what a monitor reported for one workload against the ground truth:
 * changed paths found, unchanged paths reported, and changes whose process
 * was not named.
 *
 * @module
 */
import type { Snapshot, TruthChange, TruthDiff } from "./snapshot.ts";

/** What a monitor said about one path (tool-neutral). */
export interface Report {
  path: string;
  action: string;
  /** The process the report names, if any. */
  comm?: string;
  /** The monitor says the path was touched but its content did not change. */
  unchanged?: boolean;
  /** For a move: where the path was before. */
  from?: string;
}

/** The verdict for one workload. */
export interface Verdict {
  changed: number;
  found: number;
  missed: string[];
  /** Reports of a change on a path that did not change. */
  falseReports: string[];
  /** Changed paths reported without a process of the workload. */
  unnamed: string[];
}

/** bpfink actions that truthfully describe each kind of ground-truth change. */
const ACCEPTED: Record<TruthChange, readonly string[]> = {
  created: ["created"],
  deleted: ["deleted"],
  content: ["modified", "replaced"],
  replaced: ["replaced", "modified", "created"],
  attributes: ["attributes_changed", "modified", "replaced"],
  retargeted: ["modified", "replaced", "created"],
  type: ["replaced", "created", "modified"],
};

/** Actions that claim a path changed. */
const CHANGE_ACTIONS = new Set([
  "created",
  "deleted",
  "modified",
  "replaced",
  "attributes_changed",
]);

/**
 * Compares `reports` with the ground truth (`truth`, the diff of `before` and
 * `after`). A false report is a change claimed on a path that exists, the
 * same, before and after: a path that came and went within the workload (a
 * temp file) really changed, and so did a directory whose entries changed.
 */
export function judge(
  before: Snapshot,
  after: Snapshot,
  truth: TruthDiff,
  reports: readonly Report[],
  comms: readonly string[],
): Verdict {
  const dirsWithChanges = new Set([...truth.keys()].map((p) => p.slice(0, p.lastIndexOf("/"))));
  const byPath = new Map<string, Report[]>();
  const add = (path: string, r: Report) => byPath.set(path, [...(byPath.get(path) ?? []), r]);
  for (const r of reports) {
    add(r.path, r);
    // A move of a directory says that its new path and everything below it was
    // created, and its old path and everything below it deleted.
    if (r.action === "moved" && r.from) {
      for (const p of after.keys()) {
        if (p === r.path || p.startsWith(`${r.path}/`)) {
          add(p, { ...r, path: p, action: "created" });
        }
      }
      for (const p of before.keys()) {
        if (p === r.from || p.startsWith(`${r.from}/`)) {
          add(p, { ...r, path: p, action: "deleted" });
        }
      }
    }
  }
  const v: Verdict = { changed: truth.size, found: 0, missed: [], falseReports: [], unnamed: [] };
  for (const [path, change] of truth) {
    const hits = (byPath.get(path) ?? []).filter((r) => ACCEPTED[change].includes(r.action));
    if (hits.length === 0) {
      const got = (byPath.get(path) ?? []).map((r) => r.action).join(",") || "nothing";
      v.missed.push(`${path} (${change}; got ${got})`);
      continue;
    }
    v.found++;
    if (!hits.some((r) => r.comm !== undefined && comms.includes(r.comm))) {
      v.unnamed.push(`${path} (${hits.map((r) => r.comm ?? "no process").join(",")})`);
    }
  }
  for (const [path, rs] of byPath) {
    if (truth.has(path) || dirsWithChanges.has(path)) continue;
    if (!before.has(path) || !after.has(path)) continue;
    for (const r of rs) {
      if (r.unchanged || !CHANGE_ACTIONS.has(r.action)) continue;
      v.falseReports.push(`${path} (${r.action})`);
    }
  }
  return v;
}

/**
 * How a coverage row's run is judged from the change events, and how the
 * result reads in a table cell. The guests' matrix prints one verdict per
 * row and strategy (test/kernels/guest_coverage.ts); the host turns them
 * into cells (test/kernels/coverage_guests.ts). A change that only the
 * fanotify marks saw (`event.reason` says "seen by fanotify only") is told
 * apart from one the BPF hooks caught.
 *
 * @module
 */
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import type { Writer } from "./coverage_methods.ts";

/** What a row must produce. */
export interface Wanted {
  /** The path the event is about. */
  target: string;
  action: string;
  /** The process name expected (single-writer rows). */
  comm: string;
  /** The file's content hash the event must carry (the last write was seen). */
  sha256?: string;
  /** Every process that must be named (writers rows); `comm` is then not checked. */
  writers?: Writer[];
}

/** One row's result under one strategy, as the guest prints it. */
export interface Verdict {
  /**
   * `detected`: the event came live (every writer named, for writers rows);
   * `partial`: it came, but not every writer was named; `missed`: no event;
   * `not run`: the command failed; `unsupported`: the strategy did not load.
   */
  status: "detected" | "partial" | "missed" | "not run" | "unsupported";
  /** Only fanotify's events named it (or, for writers rows, some writer). */
  fanotifyOnly?: boolean;
  /** The process named instead of the row's (null: none). Absent when it was the row's. */
  otherName?: string | null;
  /** Writers rows: how many writers were named, of how many. */
  named?: [number, number];
  /** Missed live, and the reconcile that followed reported it. */
  reconciled?: boolean;
  /** Why it was not run, or what was seen. */
  detail?: string;
}

/** True when the event was seen by the fanotify marks only, not by the BPF hooks. */
export function fanotifyOnly(e: ChangeEvent): boolean {
  return !!e.event.reason?.includes("seen by fanotify only");
}

/** The writers an event names: its process and the writers folded into it. */
function namedBy(e: ChangeEvent): Writer[] {
  const out: Writer[] = [];
  if (e.process) out.push({ pid: e.process.pid, executable: e.process.executable });
  const others = e.bpfink?.other_writers;
  if (Array.isArray(others)) {
    for (const w of others as { pid?: unknown; exe?: unknown }[]) {
      if (typeof w?.pid === "number") {
        out.push({ pid: w.pid, executable: typeof w.exe === "string" ? w.exe : undefined });
      }
    }
  }
  return out;
}

const names = (e: ChangeEvent, w: Writer) =>
  namedBy(e).some((n) => n.pid === w.pid && (!w.executable || n.executable === w.executable));

/** What `events` say, for a log line: each event's action, reason and the writers it names. */
export function seenOn(events: readonly ChangeEvent[]): string {
  return events.map((e) =>
    `${e.event.action} (${(e.event.reason ?? "").split(":")[0]}${
      namedBy(e).map((w) => ` ${w.pid}${w.executable ? ` ${w.executable}` : ""}`).join(",")
    })`
  ).join("; ") || "nothing";
}

/**
 * The verdict on `events` (everything reported so far) for `want`:
 * undefined while nothing matching has come. The best event wins: the right
 * process before another, and the BPF hooks' before fanotify's.
 */
export function judge(events: readonly ChangeEvent[], want: Wanted): Verdict | undefined {
  const hits = events.filter((e) =>
    e.file?.path === want.target && e.event.action === want.action &&
    (!want.sha256 || e.file?.hash?.sha256 === want.sha256)
  );
  if (!hits.length) return undefined;
  if (want.writers) {
    const ws = want.writers;
    const byBpf = ws.filter((w) => hits.some((e) => !fanotifyOnly(e) && names(e, w)));
    const byAny = ws.filter((w) => hits.some((e) => names(e, w)));
    const all = ws.length > 0 && byAny.length === ws.length;
    const v: Verdict = {
      status: all ? "detected" : "partial",
      fanotifyOnly: byBpf.length < byAny.length,
      named: [byAny.length, ws.length],
    };
    if (!all) v.detail = `named: ${seenOn(hits)}`;
    return v;
  }
  const rank = (e: ChangeEvent) =>
    (e.process?.name === want.comm ? 0 : 2) + (fanotifyOnly(e) ? 1 : 0);
  const best = hits.reduce((a, b) => rank(b) < rank(a) ? b : a);
  const v: Verdict = { status: "detected", fanotifyOnly: fanotifyOnly(best) };
  if (best.process?.name !== want.comm) v.otherName = best.process?.name || null;
  return v;
}

/** Markdown-safe text of one cell. */
function escapeCell(s: string): string {
  return s.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\s+/g, " ").trim();
}

/**
 * The table cell of a verdict: "yes" when the BPF hooks reported it with the
 * row's process; otherwise what differed ("yes, fanotify only", "yes, other
 * process name (ln)", "reported, 0 of 1 writers named", "missed live, found
 * by the reconcile", "not run (…)").
 * Undefined: "no result".
 */
export function cellText(v: Verdict | undefined): string {
  if (!v) return "no result";
  const parts: string[] = [];
  if (v.status === "detected" || v.status === "partial") {
    parts.push(
      v.status === "detected"
        ? "yes"
        : `reported, ${v.named?.[0] ?? 0} of ${v.named?.[1] ?? 0} writers named`,
    );
    if (v.fanotifyOnly) parts.push("fanotify only");
    if (v.otherName !== undefined) {
      parts.push(v.otherName === null ? "no process named" : `other process name (${v.otherName})`);
    }
  } else if (v.status === "missed") {
    parts.push(v.reconciled ? "missed live, found by the reconcile" : "missed");
  } else {
    parts.push(v.detail ? `${v.status} (${v.detail})` : v.status);
  }
  return escapeCell(parts.join(", "));
}

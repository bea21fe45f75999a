/**
 * `bpfink status --config FILE`: what the daemon is and how it fares: the
 * kernel object and programs (from its last start record), whether it runs,
 * the watches, the outbox backlog, recent events by action, the last
 * reconcile and queues (from its Prometheus endpoint when one is
 * configured), and each program's kernel run time where the kernel counts
 * it (`kernel.bpf_stats_enabled=1`).
 *
 * @module
 */
import { loadConfig } from "../config/load_config.ts";
import type { DatabaseSync } from "node:sqlite";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { shown } from "../consumers/semantic_change.ts";
import { daemonDatabase, historyError, openHistoryForReading } from "./events_command.ts";
import { errorMessage } from "../error_message.ts";
import { mib } from "../byte_size.ts";

/** Options of `bpfink status`. */
export interface StatusCommandOptions {
  config: string;
  json?: boolean;
}

/** One program's kernel cost, from the daemon's fdinfo. */
export interface ProgramCost {
  id: number;
  runTimeNs: number;
  runCount: number;
}

/** The kernel cost of each BPF program process `pid` holds (run_time_ns, run_cnt). */
export function programCosts(pid: number): ProgramCost[] {
  const out: ProgramCost[] = [];
  let fds: Deno.DirEntry[] = [];
  try {
    fds = [...Deno.readDirSync(`/proc/${pid}/fdinfo`)];
  } catch {
    return out;
  }
  for (const fd of fds) {
    let info = "";
    try {
      info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd.name}`);
    } catch {
      continue;
    }
    const id = /^prog_id:\s*(\d+)$/m.exec(info);
    if (!id || /^link_id:/m.test(info)) continue;
    out.push({
      id: Number(id[1]),
      runTimeNs: Number(/^run_time_ns:\s*(\d+)$/m.exec(info)?.[1] ?? 0),
      runCount: Number(/^run_cnt:\s*(\d+)$/m.exec(info)?.[1] ?? 0),
    });
  }
  return out;
}

/** Samples of a Prometheus text exposition, by metric name. */
function parseMetrics(text: string): Map<string, { labels: string; value: number }[]> {
  const out = new Map<string, { labels: string; value: number }[]>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) continue;
    const list = out.get(m[1]) ?? [];
    list.push({ labels: m[2] ?? "", value: Number(m[3]) });
    out.set(m[1], list);
  }
  return out;
}

/** Everything `status` reports. */
export interface Status {
  running: boolean;
  pid?: number;
  start?: ChangeEvent;
  watches: string[];
  outboxBacklog: number;
  /** The outbox's budget (the config's outbox_max_bytes). */
  outboxMaxBytes?: number;
  eventsLastDay: Record<string, number>;
  lastEvent?: string;
  metrics?: Record<string, { labels: string; value: number }[]>;
  metricsError?: string;
  programs: ProgramCost[];
}

/** Gathers the daemon's status. */
export async function gatherStatus(configPath: string): Promise<Status> {
  const cfg = (await loadConfig(configPath)).config!;
  const database = await daemonDatabase(configPath);
  const db = openHistoryForReading(database);
  try {
    return await readStatus(db, cfg);
  } catch (e) {
    throw historyError(database, e);
  } finally {
    db.close();
  }
}

/** What the database says of the daemon (and its metrics endpoint, while it runs). */
async function readStatus(
  db: DatabaseSync,
  cfg: NonNullable<Awaited<ReturnType<typeof loadConfig>>["config"]>,
): Promise<Status> {
  const proc = db.prepare("SELECT pid FROM agent_process WHERE one = 1").get() as
    | { pid: number }
    | undefined;
  let running = false;
  if (proc) {
    try {
      running = Deno.readTextFileSync(`/proc/${proc.pid}/cmdline`).includes("bpfink");
    } catch { /* not running */ }
  }
  const start = db.prepare(
    "SELECT event FROM event_history WHERE action = 'started' ORDER BY seq DESC LIMIT 1",
  ).get() as { event: string } | undefined;
  const hasOutbox = db.prepare(
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
  ).get() as { n: number };
  const backlog = hasOutbox.n
    ? (db.prepare("SELECT count(*) AS n FROM outbox").get() as { n: number }).n
    : 0;
  const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
  const byAction = db.prepare(
    "SELECT action, count(*) AS n FROM event_history WHERE ts >= ? AND action != 'started' GROUP BY action ORDER BY n DESC",
  ).all(dayAgo) as { action: string; n: number }[];
  const last = db.prepare(
    "SELECT ts FROM event_history WHERE action != 'started' ORDER BY seq DESC LIMIT 1",
  ).get() as { ts: string } | undefined;
  const status: Status = {
    running,
    ...(proc ? { pid: proc.pid } : {}),
    ...(start ? { start: JSON.parse(start.event) } : {}),
    watches: cfg.watches.map((w) => w.path),
    outboxBacklog: backlog,
    outboxMaxBytes: cfg.outboxMaxBytes,
    eventsLastDay: Object.fromEntries(byAction.map((r) => [r.action, r.n])),
    ...(last ? { lastEvent: last.ts } : {}),
    programs: running && proc ? programCosts(proc.pid) : [],
  };
  const listen = cfg.metrics.prometheus?.listen;
  if (listen && running) {
    try {
      const r = await fetch(`http://${listen}/metrics`, { signal: AbortSignal.timeout(3000) });
      status.metrics = Object.fromEntries(parseMetrics(await r.text()));
    } catch (e) {
      status.metricsError = `${listen}: ${errorMessage(e)}`;
    }
  }
  return status;
}

const metric = (s: Status, name: string) => s.metrics?.[name]?.[0]?.value;

/** What the outbox holds against its budget, when the daemon's metrics say (else nothing). */
function outboxSize(s: Status): string {
  const bytes = metric(s, "bpfink_outbox_bytes");
  if (bytes === undefined || s.outboxMaxBytes === undefined) return "";
  return ` (${mib(bytes)} of its ${mib(s.outboxMaxBytes)}, outbox_max_bytes)`;
}

/** Prints the status; returns 0 when the daemon runs, 1 when it does not. */
export async function statusCommand(opts: StatusCommandOptions): Promise<number> {
  const s = await gatherStatus(opts.config);
  if (opts.json) {
    Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(s) + "\n"));
    return s.running ? 0 : 1;
  }
  const b = s.start?.bpfink ?? {};
  const lines = [
    `agent:      ${s.running ? `running (pid ${s.pid})` : "not running"}`,
    `object:     ${
      s.start
        ? `${shown(String(b.strategy))} (${shown(String(b.object))}) on ${
          shown(String(b.kernel))
        }, since ${s.start["@timestamp"]}`
        : "unknown (no start record yet)"
    }`,
    `programs:   ${Array.isArray(b.programs) ? b.programs.map(String).map(shown).join(", ") : "-"}`,
    `lost:       ${
      Array.isArray(b.coverage_lost) && b.coverage_lost.length
        ? b.coverage_lost.map(String).map(shown).join("; ")
        : "no coverage lost"
    }`,
    `watches:    ${s.watches.map(shown).join(", ")} (${b.watched_files ?? "?"} files at start)`,
    `backlog:    ${s.outboxBacklog} events in the outbox not yet delivered by every output${
      outboxSize(s)
    }`,
    `last event: ${s.lastEvent ?? "none"}`,
    `last day:   ${
      Object.entries(s.eventsLastDay).map(([a, n]) => `${shown(a)} ${n}`).join(", ") || "no events"
    }`,
  ];
  if (s.metrics) {
    const at = metric(s, "bpfink_last_reconcile_timestamp_seconds");
    const took = metric(s, "bpfink_last_reconcile_duration_seconds");
    lines.push(
      `reconcile:  ${
        at ? `${new Date(at * 1000).toISOString()} (${(took ?? 0).toFixed(3)} s)` : "not yet"
      }`,
      `drops:      ${metric(s, "bpfink_ringbuf_drops_total") ?? 0} kernel events dropped`,
      `queues:     ${
        (s.metrics["bpfink_sink_queued"] ?? []).map((q) => `${q.labels} ${q.value}`).join(", ") ||
        "no queued outputs"
      }`,
    );
  } else if (s.metricsError) lines.push(`metrics:    unreachable (${shown(s.metricsError)})`);
  if (s.programs.length) {
    const stats = s.programs.some((p) => p.runCount > 0);
    lines.push(
      `kernel cost: ${
        stats
          ? s.programs.map((p) =>
            `prog ${p.id}: ${p.runCount} runs, ${
              (p.runTimeNs / Math.max(1, p.runCount)).toFixed(0)
            } ns/run`
          ).join("; ")
          : `${s.programs.length} programs; run times not counted (sysctl kernel.bpf_stats_enabled=1)`
      }`,
    );
  }
  Deno.stdout.writeSync(new TextEncoder().encode(lines.join("\n") + "\n"));
  return s.running ? 0 : 1;
}

/**
 * `bpfink events --config FILE`: past events from the daemon's database, by
 * time, path (glob) or action, as a table or JSON lines. Every field in the
 * table is escaped: file and process names come from whoever made them.
 *
 * @module
 */
import { AgentError } from "../agent/agent_error.ts";
import { formatProblems, loadConfig, parseDuration } from "../config/load_config.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { openHistoryDb, queryHistory } from "../outputs/event_history.ts";
import { DatabaseSync } from "node:sqlite";
import { cannotOpen } from "../store/baseline_store.ts";
import { oneLine } from "../agent/failure_policy.ts";
import { shown } from "../consumers/semantic_change.ts";
import { globToRegExp } from "../watch/glob.ts";

/** Options of `bpfink events`. */
export interface EventsCommandOptions {
  config: string;
  since?: string;
  until?: string;
  path?: string;
  action?: string;
  limit?: string;
  json?: boolean;
}

/** A time: an ISO 8601 date, or a duration ago (`30m`, `2h`, `7d`). */
export function parseWhen(v: string, what: string, now = Date.now()): Date {
  const days = /^(\d+)d$/.exec(v);
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(v);
  if (ms !== undefined && !/^\d{4}-/.test(v)) return new Date(now - ms);
  const t = Date.parse(v);
  if (Number.isNaN(t)) {
    throw new AgentError(
      `${what} must be a date (2026-12-01T10:00:00Z) or a duration ago (2h, 7d), not "${v}"`,
      2,
    );
  }
  return new Date(t);
}

/** The database of `configPath`'s daemon, or an error that says why there is none. */
export async function daemonDatabase(configPath: string): Promise<string> {
  const loaded = await loadConfig(configPath);
  if (!loaded.config) {
    throw new AgentError(`invalid config:\n${formatProblems(configPath, loaded).join("\n")}`, 2);
  }
  try {
    Deno.statSync(loaded.config.database);
  } catch {
    throw new AgentError(`no database at ${loaded.config.database}: has "bpfink run" run?`, 2);
  }
  return loaded.config.database;
}

/**
 * Opens the daemon's database for `status` and `events`: as the daemon does
 * (making the history's tables), or to read only where it cannot be written
 * (a read-only directory). Faults are one sentence (historyError).
 */
export function openHistoryForReading(database: string): DatabaseSync {
  try {
    return openHistoryDb(database);
  } catch (e) {
    try {
      return new DatabaseSync(database, { readOnly: true });
    } catch {
      throw historyError(database, e);
    }
  }
}

/** A fault reading the daemon's database, as one sentence (an AgentError passes as it is). */
export function historyError(database: string, e: unknown): AgentError {
  if (e instanceof AgentError) return e;
  const why = oneLine(e);
  if (/malformed|not a database|corrupt/i.test(why)) {
    return new AgentError(
      `the database ${database} is corrupt (${why}): a running bpfink rebuilds it and reports ` +
        `baseline_reset; otherwise the next "bpfink run" moves it aside`,
    );
  }
  if (/no such table/i.test(why)) {
    return new AgentError(`the database ${database} holds no event history yet (${why})`);
  }
  return new AgentError(cannotOpen(database, e));
}

/** One table row for `e`. */
export function eventRow(e: ChangeEvent): string {
  const who = e.process ? ` ${shown(e.process.name)}[${e.process.pid}]` : "";
  const uid = e.user?.id !== undefined ? ` uid=${shown(e.user.id)}` : "";
  const sev = typeof e.bpfink?.severity === "string" ? e.bpfink.severity : "";
  return `${e["@timestamp"].slice(0, 19).replace("T", " ")}  ${shown(e.event.action).padEnd(20)} ${
    sev.padEnd(8)
  } ${shown(e.file?.path ?? "-")}${who}${uid}  ${shown(e.message ?? "")}`;
}

/** Prints the matching events; returns 0. */
export async function eventsCommand(opts: EventsCommandOptions): Promise<number> {
  const limit = opts.limit === undefined ? 1000 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new AgentError(`--limit must be a positive whole number, not "${opts.limit}"`, 2);
  }
  const since = opts.since ? parseWhen(opts.since, "--since") : undefined;
  const until = opts.until ? parseWhen(opts.until, "--until") : undefined;
  const pathRe = opts.path ? globToRegExp(opts.path) : undefined;
  const database = await daemonDatabase(opts.config);
  const db = openHistoryForReading(database);
  let events: ChangeEvent[];
  try {
    events = queryHistory(db, {
      since,
      until,
      action: opts.action,
      path: pathRe ? (p) => pathRe.test(p) : undefined,
      limit,
    });
  } catch (e) {
    throw historyError(database, e);
  } finally {
    db.close();
  }
  const text = opts.json
    ? events.map((e) => JSON.stringify(e)).join("\n")
    : events.map(eventRow).join("\n");
  if (text) Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  return 0;
}

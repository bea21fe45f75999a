/**
 * Events about the agent's own state, not about a watched file:
 * `baseline_reset` (the database was unusable and the baseline started
 * afresh), `key_changed` (the host key is not the one the baseline was made
 * with), `self_test_failed` and `heartbeat`.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { BaselineReset, BaselineStore } from "../store/baseline_store.ts";
import { pathParts, withEnvelope } from "../pipeline/ecs_event.ts";
import type { SeverityLevel } from "../pipeline/severity.ts";

/**
 * An agent-state event (`bpfink.consumer: agent`, dataset `bpfink.agent`)
 * about `file` (the database, the key...), in the ECS envelope.
 */
export function agentEvent(
  action: string,
  message: string,
  hostname: string,
  file: string,
  detail: Record<string, unknown> = {},
  severity: SeverityLevel = "high",
): ChangeEvent {
  return withEnvelope(
    {
      "@timestamp": new Date().toISOString(),
      event: {
        id: crypto.randomUUID(),
        action,
        category: ["host"],
        type: ["info"],
        kind: severity === "info" ? "state" : "alert",
        module: "bpfink",
        dataset: "bpfink.agent",
      },
      file: { path: file, ...pathParts(file) },
      message,
      bpfink: { consumer: "agent", ...detail },
    },
    hostname,
    severity,
  );
}

/**
 * What the store has to say after it opened: a reset baseline, a changed
 * host key (`keyChanged`, from `checkHostKey`), once each.
 */
export function storeEvents(
  store: BaselineStore,
  hostname: string,
  keyChanged = false,
): ChangeEvent[] {
  const out: ChangeEvent[] = [];
  if (keyChanged) {
    out.push(agentEvent(
      "key_changed",
      `the host key is not the one the baseline was made with: the baseline was rebuilt ` +
        `from the files as they are now; password fingerprints start afresh`,
      hostname,
      store.path,
      { database: store.path },
    ));
  }
  return store.reset ? [...out, baselineResetEvent(store.path, store.reset, hostname)] : out;
}

/** `baseline_reset`: the database was unusable (corrupt, deleted, an unfinished first baseline). */
export function baselineResetEvent(
  database: string,
  { reason, movedTo, rebuiltFrom }: BaselineReset,
  hostname: string,
): ChangeEvent {
  const moved = movedTo ? `: moved to ${movedTo}` : "";
  const how = rebuiltFrom === "files"
    ? `the baseline was rebuilt from the files as they are now, so changes made before this ` +
      `start are not reported`
    : rebuiltFrom === "unfinished"
    ? `it was taken again: what it had recorded is compared, files it had not reached are ` +
      `recorded now, not reported as created`
    : rebuiltFrom === "memory"
    ? `a new one was written from the baseline bpfink held in memory, and every change ` +
      `meanwhile was reported from memory (line diffs of text files start afresh)`
    : `it was written again from the database bpfink held open: nothing was lost`;
  return agentEvent(
    "baseline_reset",
    `the baseline database ${database} was unusable (${reason})${moved}; ${how}`,
    hostname,
    database,
    {
      reason,
      ...(movedTo ? { moved_to: movedTo } : {}),
      rebuilt_from: rebuiltFrom,
      database,
    },
  );
}

/** `self_test_failed`: what the self-test found and what it repaired. */
export function selfTestFailedEvent(
  found: { problems: string[]; repaired: string[]; recovered: boolean },
  hostname: string,
): ChangeEvent {
  return agentEvent(
    "self_test_failed",
    `self-test failed: ${found.problems.join("; ")}; ${
      found.repaired.length ? found.repaired.join(", ") : "nothing repaired"
    }; ${found.recovered ? "the live path works again" : "the live path is still broken"}`,
    hostname,
    Deno.execPath(),
    { reason: found.problems.join("; "), changes: [] },
    "critical",
  );
}

/** `heartbeat`: the agent is alive and watching (for fleets that alert on silence). */
export function heartbeatEvent(
  hostname: string,
  detail: { watched_paths: number; strategy: string; programs: string[] },
): ChangeEvent {
  return agentEvent(
    "heartbeat",
    `bpfink alive: ${detail.strategy}, ${detail.watched_paths} paths watched`,
    hostname,
    Deno.execPath(),
    detail,
    "info",
  );
}

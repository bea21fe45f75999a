/**
 * Events about the agent's own state, not about a watched file:
 * `baseline_reset` (the database was unusable and the baseline started
 * afresh), `key_changed` (the host key is not the one the baseline was made
 * with), `self_test_failed` and `heartbeat`.
 *
 * @module
 */
import type { ChangeEvent } from "../events/change_event.ts";
import { withEnvelope } from "../events/ecs_event.ts";
import type { BaselineStore } from "../store/baseline_store.ts";

/** An agent-state event (`event.kind: state`, dataset `bpfink.agent`). */
export function agentEvent(
  action: string,
  message: string,
  hostname: string,
  detail: Record<string, unknown> = {},
  kind: "state" | "alert" = "state",
): ChangeEvent {
  return withEnvelope({
    "@timestamp": new Date().toISOString(),
    event: {
      id: crypto.randomUUID(),
      action,
      category: ["host"],
      type: ["info"],
      kind,
      module: "bpfink",
      dataset: "bpfink.agent",
    },
    message,
    bpfink: detail,
  }, hostname);
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
      { database: store.path },
      "alert",
    ));
  }
  if (!store.reset) return out;
  const { reason, movedTo } = store.reset;
  return [
    ...out,
    agentEvent(
      "baseline_reset",
      `the baseline database ${store.path} was unusable (${reason}): moved to ${movedTo}; ` +
        `the baseline was rebuilt from the files as they are now, so changes made before this ` +
        `start are not reported`,
      hostname,
      { reason, moved_to: movedTo, database: store.path },
      "alert",
    ),
  ];
}

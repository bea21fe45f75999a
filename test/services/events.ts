/**
 * Change events for output tests.
 *
 * @module
 */
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { pathParts, withEnvelope } from "../../src/pipeline/ecs_event.ts";
import { checkEvent } from "../ecs_validate.ts";

/**
 * Event number `i`, as the agent builds them (ECS envelope included): a file
 * change by default, `category: ["iam"]` for user actions. Checked against
 * ECS and the JSON Schema.
 */
export function testEvent(
  i: number,
  action = "modified",
  extra: Partial<ChangeEvent> = {},
): ChangeEvent {
  const iam = action.startsWith("user") || action.startsWith("group");
  const path = `/etc/test-${i}.conf`;
  const e = withEnvelope({
    "@timestamp": new Date().toISOString(),
    event: {
      id: `ev-${i}`,
      action,
      category: iam ? ["iam"] : ["file"],
      type: ["change"],
      kind: "event",
      module: "bpfink",
      reason: "live",
      dataset: iam ? "bpfink.users" : "bpfink.file",
    },
    file: { path, ...pathParts(path) },
    message: `${path} ${action}`,
    bpfink: { consumer: iam ? "users" : "generic" },
    ...extra,
    ...(extra.file ? { file: { ...pathParts(extra.file.path), ...extra.file } } : {}),
  }, "testhost");
  checkEvent(e, "testEvent");
  return e;
}

/**
 * Change events for output tests.
 *
 * @module
 */
import type { ChangeEvent } from "../../src/events/change_event.ts";

/** Event number `i`: a file change by default, `category: ["iam"]` for user actions. */
export function testEvent(
  i: number,
  action = "modified",
  extra: Partial<ChangeEvent> = {},
): ChangeEvent {
  const iam = action.startsWith("user") || action.startsWith("group");
  return {
    "@timestamp": new Date().toISOString(),
    event: {
      id: `ev-${i}`,
      action,
      category: iam ? ["iam"] : ["file"],
      type: ["change"],
      kind: "event",
      module: "bpfink",
      reason: "live",
    },
    file: { path: `/etc/test-${i}.conf` },
    host: { hostname: "testhost" },
    message: `/etc/test-${i}.conf ${action}`,
    ...extra,
  };
}

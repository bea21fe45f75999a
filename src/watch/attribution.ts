/**
 * The "who did it" part of a change event, from the kernel event that caused
 * it, in ECS field names.
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { ProcessDetails } from "./process_details.ts";

/** A kernel event with what /proc added about its process. */
export type AttributedEvent = FimEvent & { details?: ProcessDetails };

/** `process`, `user` and `container` fields for `cause`; empty when there is no cause (rescans). */
export function attribution(
  cause: AttributedEvent | undefined,
): Pick<ChangeEvent, "process" | "user" | "container"> {
  if (!cause) return {};
  const d = cause.details ?? {};
  return {
    process: {
      pid: cause.tgid,
      name: cause.comm,
      thread: { id: cause.pid },
      parent: { pid: cause.ppid },
      ...(d.executable || cause.exe ? { executable: d.executable ?? cause.exe } : {}),
      ...(d.cgroup
        ? { cgroup: { id: String(cause.cgroupId), path: d.cgroup } }
        : { cgroup: { id: String(cause.cgroupId) } }),
    },
    user: {
      id: String(cause.uid),
      ...(cause.euid !== cause.uid ? { effective: { id: String(cause.euid) } } : {}),
      ...(cause.auid !== undefined ? { audit: { id: String(cause.auid) } } : {}),
    },
    ...(d.containerId ? { container: { id: d.containerId } } : {}),
  };
}

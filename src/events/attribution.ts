/**
 * The "who did it" part of a change event, from the kernel event that caused
 * it, in ECS field names.
 *
 * @module
 */
import type { FimEvent } from "../bpf/fim_event.ts";
import type { ChangeEvent } from "./change_event.ts";

/** `process` and `user` fields for `cause`; empty when there is no cause (rescans). */
export function attribution(cause: FimEvent | undefined): Pick<ChangeEvent, "process" | "user"> {
  if (!cause) return {};
  return {
    process: {
      pid: cause.tgid,
      name: cause.comm,
      thread: { id: cause.pid },
      parent: { pid: cause.ppid },
    },
    user: {
      id: String(cause.uid),
      ...(cause.euid !== cause.uid ? { effective: { id: String(cause.euid) } } : {}),
      ...(cause.auid !== undefined ? { audit: { id: String(cause.auid) } } : {}),
    },
  };
}

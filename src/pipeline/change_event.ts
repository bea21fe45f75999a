/**
 * The change event: what bpfink reports to every output.
 *
 * Field names follow the Elastic Common Schema (ECS) so SIEM pipelines accept the
 * events as they are. Objects are nested the ECS way (`event.action` is
 * `event: { action }`); outputs serialise them unchanged.
 *
 * @module
 */

import type { AgentFields, HostFields } from "./ecs_host.ts";

/** Who caused a change, as far as the kernel told us. */
export interface ProcessInfo {
  pid: number;
  /** Thread id of the writer (ECS: process.thread.id). */
  thread?: { id: number };
  name: string;
  parent?: { pid: number };
  /** Full path only; when only the file name is known it is under `bpfink.process`. */
  executable?: string;
  /** Kernel cgroup (attribution only; moved to `bpfink.process.cgroup` in events). */
  cgroup?: { id: string; path?: string };
}

/** An ECS user: the actor at the top level, the account acted upon under `target`. */
export interface EcsUser {
  id?: string;
  name?: string;
  effective?: { id?: string; name?: string };
  /** The account an IAM event acts upon. */
  target?: { id?: string; name?: string };
  /** Login uid (attribution only; moved to `bpfink.user.audit` in events). */
  audit?: { id?: string };
}

/** ECS `file` fields. uid and gid are keywords (strings), as ECS types them. */
export interface EcsFile {
  path: string;
  name?: string;
  directory?: string;
  extension?: string;
  /** `file`, `dir`, `symlink`, `fifo`, `socket`, `chardev`, `blockdev`. */
  type?: string;
  /** A symlink's target (never followed). */
  target_path?: string;
  inode?: string;
  device?: string;
  size?: number;
  mode?: string;
  uid?: string;
  gid?: string;
  owner?: string;
  group?: string;
  mtime?: string;
  ctime?: string;
  hash?: { sha256?: string };
}

/** One semantic or raw change, ready for outputs. */
export interface ChangeEvent {
  "@timestamp": string;
  ecs?: { version: string };
  event: {
    /** Unique per event; a redelivered event keeps its id, so receivers can drop duplicates. */
    id: string;
    /** e.g. `modified`, `replaced`, `deleted`, `created`, `user_added`, `started`. */
    action: string;
    category: string[];
    type: string[];
    kind: "event" | "state" | "alert";
    /** `live` (seen by the kernel), `offline` (changed while bpfink was down), `reconcile`, `rescan`. */
    reason?: string;
    module: "bpfink";
    dataset?: string;
    /** Elastic's risk scale: 21 low, 47 medium, 73 high, 99 critical (1 for info). */
    severity?: number;
    outcome?: "success" | "failure" | "unknown";
    /**
     * When bpfink made the report; `@timestamp` is when the change happened
     * (its kernel event's time), earlier when the report waited.
     */
    created?: string;
  };
  file?: EcsFile;
  process?: ProcessInfo;
  user?: EcsUser;
  group?: { id?: string; name?: string };
  related?: { user?: string[] };
  container?: { id: string };
  host?: HostFields;
  agent?: AgentFields;
  message?: string;
  /** ECS tags: the watch's `tags`. */
  tags?: string[];
  /** bpfink-specific detail: consumer, what changed from → to, kernel object, counters. */
  bpfink?: Record<string, unknown>;
}

/** `e` sent again: the same event (and `event.id`), flagged `bpfink.redelivered`. */
export function redelivered(e: ChangeEvent): ChangeEvent {
  return { ...e, bpfink: { ...e.bpfink, redelivered: true } };
}

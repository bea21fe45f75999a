/**
 * The change event: what bpfink reports to every output.
 *
 * Field names follow the Elastic Common Schema (ECS) so SIEM pipelines accept the
 * events as they are. Objects are nested the ECS way (`event.action` is
 * `event: { action }`); outputs serialise them unchanged.
 *
 * @module
 */

/** Who caused a change, as far as the kernel told us. */
export interface ProcessInfo {
  pid: number;
  /** Thread id of the writer (ECS: process.thread.id). */
  thread?: { id: number };
  name: string;
  parent?: { pid: number };
  executable?: string;
  /** cgroup id (kernel) and path (from /proc, when the process was still there). */
  cgroup?: { id: string; path?: string };
  /** The acting user, on semantic events (where `user` is the user acted upon). */
  user?: { id?: string; effective?: { id?: string }; audit?: { id?: string } };
}

/** One semantic or raw change, ready for outputs. */
export interface ChangeEvent {
  "@timestamp": string;
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
  };
  file?: {
    /** Escaped: bytes that are not UTF-8 as \xNN (the raw bytes are in bpfink.path_bytes). */
    path: string;
    /** For what is not a regular file: dir, symlink, fifo, socket, chardev, blockdev. */
    type?: string;
    /** A symlink's target (never followed). */
    target_path?: string;
    inode?: string;
    device?: string;
    size?: number;
    mode?: string;
    uid?: number;
    gid?: number;
    hash?: { sha256?: string };
  };
  process?: ProcessInfo;
  user?: { id?: string; name?: string; effective?: { id?: string }; audit?: { id?: string } };
  group?: { id?: string; name?: string };
  container?: { id: string };
  host?: { hostname: string };
  message?: string;
  /** bpfink-specific detail: consumer, what changed from → to, kernel object, counters. */
  bpfink?: Record<string, unknown>;
}

/**
 * A change to one watched path, as the monitor saw it: the state before and
 * after, and the kernel events that caused it. Consumers turn these into
 * change events.
 *
 * @module
 */
import { type FimEvent, FimOp } from "../kernel/fim_event.ts";
import type { FileState } from "../watch/file_state.ts";

/** What happened to the path. */
export type FileAction =
  | "created"
  | "modified"
  | "attributes_changed"
  | "replaced"
  | "deleted"
  | "moved"
  /** The kernel saw a rename, link or truncate of the path, and the re-read found it as before. */
  | "touched"
  /**
   * A watched directory (the path) had more names made and gone before any
   * read than are reported one by one: they are counted (`churn`).
   */
  | "churned"
  /**
   * A mount in the host's mount namespace, which the agent's own does not
   * share, changed what the path names there: the host's programs read
   * another file system than the one watched.
   */
  | "mounted_over"
  /**
   * A mount at or above the path, in the agent's mount namespace (or the
   * host's), was made and undone before the agent looked at the mount table:
   * what programs read at the path meanwhile is not known.
   */
  | "mounted_briefly";

/** Why the change was noticed. */
export type ChangeReason = "live" | "rescan" | "offline" | "reconcile";

/** One change to one path. */
export interface FileChange {
  action: FileAction;
  path: string;
  /** For `moved`: the path before the move. */
  fromPath?: string;
  kind: "file" | "dir";
  /** The configured path this came from. */
  root: string;
  before?: FileState;
  after?: FileState;
  /** The kernel event that best explains the change (undefined for rescans). */
  cause?: FimEvent;
  /**
   * Other processes whose writes may be in this change (one event each): their
   * kernel events were folded into it or came while it was read, or they hold
   * the file mapped shared and writable.
   */
  otherWriters?: FimEvent[];
  /** How many kernel events were folded into this change. */
  folded: number;
  reason: ChangeReason;
  /** Why no process is named although the change was seen live (the kernel could not tie it to one). */
  unattributed?: string;
  /** An extended attribute was set or removed (seen by the kernel; values are not read). */
  xattr?: boolean;
  /**
   * For `attributes_changed`: the kernel saw the content written (a write or
   * truncate), and the re-read found it as before: written and put back.
   */
  writtenBack?: boolean;
  /**
   * For an `attributes_changed` with an extended attribute changed: the
   * file's capabilities now, as getcap names them ("" for none).
   */
  capabilities?: string;
  /**
   * The file is marked secret or may hold password hashes: an ACL that lets
   * another user read it is a grant (attr_changes.ts).
   */
  secret?: boolean;
  /**
   * Why nothing of the file is known but its name and the process that made
   * or removed it: it was gone (removed, renamed away, replaced) before any
   * read saw it. `before` and `after` are then undefined.
   */
  notRead?: string;
  /**
   * For `churned`: how many names were made and gone, how many distinct, each
   * of them a program reads by name, and others drawn at random.
   */
  churn?: { names: number; distinct: number; readByName: string[]; sample: string[] };
}

/** `event.reason` for a change: why it was noticed, and why its process is missing or best effort. */
export function changeReason(c: FileChange): string {
  if (c.unattributed) return `${c.reason}: no process named, ${c.unattributed}`;
  if (c.cause?.op === FimOp.Mount && c.action !== "mounted_over") {
    return `${c.reason}: a mount or unmount changed what the path resolves to`;
  }
  if (c.cause?.via === "fanotify") {
    return `${c.reason}: seen by fanotify only, not by the syscall hooks; ` +
      `the process is what /proc showed for the event's pid (best effort)`;
  }
  return c.reason;
}

/**
 * The generic consumer: any file or tree. Reports created, modified (sha256
 * before and after), attributes_changed, replaced and deleted.
 *
 * @module
 */
import type { ChangeEvent } from "../events/change_event.ts";
import { attribution } from "../events/attribution.ts";
import type { FileAction, FileChange } from "../events/file_change.ts";
import type { FileState } from "../watch/file_state.ts";
import { devString } from "../watch/inode_key.ts";

const TYPES: Record<FileAction, string[]> = {
  created: ["creation"],
  modified: ["change"],
  attributes_changed: ["change"],
  replaced: ["change"],
  deleted: ["deletion"],
};

const VERBS: Record<FileAction, string> = {
  created: "created",
  modified: "modified",
  attributes_changed: "attributes changed",
  replaced: "replaced",
  deleted: "deleted",
};

/** ECS `file` fields of a state. */
export function fileFields(
  path: string,
  s: FileState | undefined,
): NonNullable<ChangeEvent["file"]> {
  if (!s) return { path };
  return {
    path,
    inode: String(s.id.ino),
    device: devString(s.id.dev),
    size: s.size,
    mode: (s.mode & 0o7777).toString(8).padStart(4, "0"),
    uid: s.uid,
    gid: s.gid,
    ...(s.sha256 ? { hash: { sha256: s.sha256 } } : {}),
  };
}

/** The change event for one file change. */
export function genericEvent(c: FileChange, hostname: string, now = new Date()): ChangeEvent {
  const who = c.cause ? ` by ${c.cause.comm}[${c.cause.tgid}]` : "";
  const before = c.before;
  return {
    "@timestamp": now.toISOString(),
    event: {
      id: crypto.randomUUID(),
      action: c.action,
      category: ["file"],
      type: TYPES[c.action],
      kind: "event",
      reason: c.reason,
      module: "bpfink",
      dataset: "bpfink.file",
    },
    file: fileFields(c.path, c.after ?? c.before),
    ...attribution(c.cause),
    host: { hostname },
    message: `${c.path} ${VERBS[c.action]}${who}`,
    bpfink: {
      consumer: "generic",
      ...(before && c.after ? { before: fileFields(c.path, before) } : {}),
      ...(c.folded > 1 ? { folded_events: c.folded } : {}),
    },
  };
}

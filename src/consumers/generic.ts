/**
 * The generic consumer: any file or tree. Reports created, modified (sha256
 * before and after), attributes_changed, replaced and deleted.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { changeReason, type FileAction, type FileChange } from "../pipeline/file_change.ts";
import type { FileState } from "../watch/file_state.ts";
import { actorEcs, fileEcs, otherWritersEcs, withEnvelope } from "../pipeline/ecs_event.ts";
import { capabilitiesChange, type SeverityLevel, WRITTEN_BACK } from "../pipeline/severity.ts";
import { displayPath, pathBytesBase64 } from "../watch/path_bytes.ts";
import { attrChanges, attrPhrases } from "../pipeline/attr_changes.ts";

const TYPES: Record<FileAction, string[]> = {
  created: ["creation"],
  modified: ["change"],
  attributes_changed: ["change"],
  replaced: ["change"],
  deleted: ["deletion"],
  moved: ["change"],
  touched: ["change"],
  churned: ["creation", "deletion"],
  mounted_over: ["change"],
  mounted_briefly: ["change"],
};

const VERBS: Record<FileAction, string> = {
  created: "created",
  modified: "modified",
  attributes_changed: "attributes changed",
  replaced: "replaced",
  deleted: "deleted",
  moved: "moved",
  touched: "touched, unchanged,",
  churned: "had names made and removed before they could be read",
  mounted_over:
    "was mounted over (or under) in the host's mount namespace, which bpfink's does not share: " +
    "the host's programs read a file system bpfink cannot see there",
  mounted_briefly:
    "had a mount over it (or above it) made and undone before bpfink could look: what programs " +
    "read there meanwhile is not known",
};

/** ECS `file` fields of a state (see {@link fileEcs}). */
export function fileFields(
  path: string,
  s: FileState | undefined,
  kind?: "file" | "dir",
): NonNullable<ChangeEvent["file"]> {
  return fileEcs(path, s, kind);
}

/** Attributes that differ between two states, from → to. */
export function attributeChanges(
  a: FileState,
  b: FileState,
): { field: string; from: unknown; to: unknown }[] {
  const out: { field: string; from: unknown; to: unknown }[] = [];
  const mode = (s: FileState) => (s.mode & 0o7777).toString(8).padStart(4, "0");
  if (mode(a) !== mode(b)) out.push({ field: "mode", from: mode(a), to: mode(b) });
  if (a.uid !== b.uid) out.push({ field: "uid", from: a.uid, to: b.uid });
  if (a.gid !== b.gid) out.push({ field: "gid", from: a.gid, to: b.gid });
  if (a.size !== b.size) out.push({ field: "size", from: a.size, to: b.size });
  if (a.mtimeMs !== b.mtimeMs) {
    out.push({
      field: "mtime",
      from: new Date(a.mtimeMs).toISOString(),
      to: new Date(b.mtimeMs).toISOString(),
    });
  }
  if (a.nlink !== undefined && b.nlink !== undefined && a.nlink !== b.nlink) {
    out.push({ field: "nlink", from: a.nlink, to: b.nlink });
  }
  if (
    out.length === 0 && a.ctimeMs !== b.ctimeMs && a.ctimeMs !== undefined &&
    b.ctimeMs !== undefined
  ) {
    out.push({
      field: "ctime",
      from: new Date(a.ctimeMs).toISOString(),
      to: new Date(b.ctimeMs).toISOString(),
    });
  }
  return out;
}

/** What a non-regular entry is, for the message ("a symlink to /x"). */
function kindNote(c: FileChange): string {
  const s = c.after ?? c.before;
  if (!s?.type || s.type === "file") return "";
  if (s.type === "symlink") return ` (symlink to ${displayPath(s.linkTarget ?? "?")})`;
  return ` (${s.type})`;
}

/** Why the content was not read whole, or not at all, for the message. */
function wholeNote(c: FileChange): string {
  if (c.churn) {
    const { names, distinct, readByName, sample } = c.churn;
    const read = readByName.length
      ? `; read by name: ${readByName.map(displayPath).join(", ")}`
      : "";
    const more = distinct > readByName.length + sample.length ? ", …" : "";
    const others = sample.length ? `; others: ${sample.map(displayPath).join(", ")}${more}` : "";
    return ` (${names} names, ${distinct} distinct${read}${others})`;
  }
  if (c.notRead) return `; content unknown: ${c.notRead}`;
  const why = (c.after ?? c.before)?.readError;
  return why ? `; could not be read whole (${why})` : "";
}

/** The change event for one file change; `severity` overrides the default level. */
export function genericEvent(
  c: FileChange,
  hostname: string,
  now = new Date(),
  severity?: SeverityLevel,
): ChangeEvent {
  const who = c.cause ? ` by ${c.cause.comm}[${c.cause.tgid}]` : "";
  const before = c.before;
  const actor = actorEcs(c.cause);
  // ACLs, inode flags, capabilities and other xattrs by meaning, when both states know them.
  const attrs = before && c.after && c.action !== "replaced"
    ? attrChanges(before.attrs, c.after.attrs, {
      uid: c.after.uid,
      mode: before.mode,
      secret: c.secret ?? false,
    })
    : [];
  const phrases = attrPhrases(attrs);
  const attrNote = phrases.length ? `: ${phrases.join("; ")}` : "";
  return withEnvelope(
    {
      "@timestamp": now.toISOString(),
      event: {
        id: crypto.randomUUID(),
        action: c.action,
        category: ["file"],
        type: TYPES[c.action],
        kind: "event",
        reason: changeReason(c),
        module: "bpfink",
        dataset: "bpfink.file",
      },
      file: fileFields(c.path, c.after ?? c.before, c.kind),
      ...actor.fields,
      message: c.fromPath
        ? `${displayPath(c.fromPath)} ${VERBS[c.action]} to ${displayPath(c.path)}${who}`
        : `${displayPath(c.path)} ${VERBS[c.action]}${kindNote(c)}${who}${wholeNote(c)}${attrNote}`,
      bpfink: {
        consumer: "generic",
        ...(displayPath(c.path) !== c.path ? { path_bytes: pathBytesBase64(c.path) } : {}),
        ...(c.fromPath ? { from_path: displayPath(c.fromPath) } : {}),
        ...actor.extra,
        ...(before && c.after ? { before: fileFields(c.path, before, c.kind) } : {}),
        ...(before && c.after && c.action !== "replaced"
          ? {
            changes: [
              ...attributeChanges(before, c.after),
              ...attrs,
              ...(c.xattr && attrs.length === 0
                ? [{ field: "xattr", from: null, to: "set or removed" }]
                : []),
              ...(c.capabilities !== undefined ? [capabilitiesChange(c.capabilities)] : []),
              ...(c.writtenBack ? [WRITTEN_BACK] : []),
            ],
          }
          : {}),
        ...(before?.sha256 && c.after?.sha256 && c.action !== "moved"
          ? { content_changed: before.sha256 !== c.after.sha256 }
          : {}),
        ...((c.after ?? c.before)?.readError
          ? { not_read_whole: (c.after ?? c.before)!.readError }
          : {}),
        ...(c.notRead ? { not_read: c.notRead } : {}),
        ...(c.churn
          ? {
            churn: {
              names: c.churn.names,
              distinct: c.churn.distinct,
              read_by_name: c.churn.readByName.map(displayPath),
              sample: c.churn.sample.map(displayPath),
            },
          }
          : {}),
        ...(c.folded > 1 ? { folded_events: c.folded } : {}),
        ...otherWritersEcs(c.otherWriters),
      },
    },
    hostname,
    // A churn that folded names some program reads by name (past those itemized) is high.
    severity ?? (c.churn?.readByName.length ? "high" : undefined),
  );
}

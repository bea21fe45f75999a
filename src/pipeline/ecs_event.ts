/**
 * Builds ECS-complete change events: the envelope every event carries
 * (`ecs.version`, `host.*`, `agent.*`, `event.severity`, `event.outcome`,
 * `related.user`), the full `file.*` of a state, and the actor of a kernel
 * event in ECS places. What ECS has no field for goes under `bpfink.*`.
 *
 * @module
 */
import type { FileState } from "../watch/file_state.ts";
import { devString } from "../watch/inode_key.ts";
import { displayPath } from "../watch/path_bytes.ts";
import { groupName, userName } from "../watch/account_names.ts";
import { type AttributedEvent, attribution } from "../watch/attribution.ts";
import type { FimEvent } from "../kernel/fim_event.ts";
import type { ChangeEvent, EcsFile } from "./change_event.ts";
import { agentFields, hostFields } from "./ecs_host.ts";
import { defaultSeverity, SEVERITY_NUMBER, type SeverityLevel } from "./severity.ts";
import { type EntryType, typeOfMode } from "../watch/native_fs.ts";

/** The ECS version the events follow (checked against `@elastic/ecs` of this version). */
export const ECS_VERSION = "9.4.0";

/** ECS `file.type` of each entry type. */
const ECS_FILE_TYPE: Record<EntryType, string> = {
  file: "file",
  dir: "dir",
  symlink: "symlink",
  fifo: "fifo",
  socket: "socket",
  chardev: "char_device",
  blockdev: "block_device",
};

/** ECS `file.type` from st_mode (no type bits: a file). */
export function fileType(mode: number): string {
  return (mode & 0o170000) === 0 ? "file" : ECS_FILE_TYPE[typeOfMode(mode)];
}

/** `file.name`, `file.directory` and `file.extension` of a path. */
export function pathParts(path: string): Pick<EcsFile, "name" | "directory" | "extension"> {
  const cut = path.lastIndexOf("/");
  const name = path.slice(cut + 1);
  const directory = cut <= 0 ? "/" : path.slice(0, cut);
  const dot = name.lastIndexOf(".");
  // A leading dot names a hidden file, not an extension (".bashrc").
  const extension = dot > 0 && dot < name.length - 1 ? name.slice(dot + 1) : undefined;
  return { name, directory, ...(extension ? { extension } : {}) };
}

const iso = (ms: number | undefined) =>
  ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();

/**
 * ECS `file` fields of `path` in `state` (only the path parts when it does
 * not exist). uid and gid are strings (ECS keyword), with the local names.
 */
export function fileEcs(
  path: string,
  state: FileState | undefined,
  kind?: "file" | "dir",
): EcsFile {
  // Escaped where the name is not UTF-8 (the raw bytes go in bpfink.path_bytes).
  const shown = displayPath(path);
  const parts = { path: shown, ...pathParts(shown) };
  if (!state) return kind ? { ...parts, type: kind } : parts;
  const owner = userName(state.uid);
  const group = groupName(state.gid);
  const mtime = iso(state.mtimeMs);
  const ctime = iso(state.ctimeMs);
  return {
    ...parts,
    type: fileType(state.mode),
    ...(state.linkTarget !== undefined ? { target_path: displayPath(state.linkTarget) } : {}),
    inode: String(state.id.ino),
    device: devString(state.id.dev),
    size: state.size,
    mode: (state.mode & 0o7777).toString(8).padStart(4, "0"),
    uid: String(state.uid),
    gid: String(state.gid),
    ...(owner ? { owner } : {}),
    ...(group ? { group } : {}),
    ...(mtime ? { mtime } : {}),
    ...(ctime ? { ctime } : {}),
    ...(state.sha256 ? { hash: { sha256: state.sha256 } } : {}),
  };
}

/** The actor of a kernel event in ECS places, and what ECS has no field for. */
export interface Actor {
  fields: Pick<ChangeEvent, "process" | "user" | "container">;
  /** Goes under `bpfink`: cgroup, login uid, and the executable's name when its path is unknown. */
  extra: Record<string, unknown>;
}

/** Why `process.executable` can be missing while the kernel named the program. */
export const EXECUTABLE_UNKNOWN =
  "the process exited before /proc/PID/exe could be read; the kernel event carries only the executable's file name";

/** Why `process.executable` is missing when the process ran another program after the change. */
export const EXECUTABLE_RAN_ANOTHER =
  "the process ran another program (execve) after the change, so /proc/PID/exe is not the program that made it; the kernel event carries only that program's file name";

/** Why `process.executable` is missing while /proc showed a path (`bpfink.process.executable_unverified`). */
export const EXECUTABLE_UNVERIFIED =
  "the path /proc/PID/exe showed is not the file the process runs (deleted or replaced since it started, a memfd, or a path in another mount namespace)";

/**
 * `bpfink.other_writers`: the other processes whose writes one report
 * holds (folded while the file waited for its re-read), when there are any.
 * Every event of that report carries them: which writer made which line is
 * not known.
 */
export function otherWritersEcs(
  others: readonly FimEvent[] | undefined,
): { other_writers?: { pid: number; name: string; exe: string }[] } {
  return others?.length
    ? { other_writers: others.map((w) => ({ pid: w.tgid, name: w.comm, exe: w.exe })) }
    : {};
}

/**
 * The actor of `cause`: `process.*` (executable only as a full path that
 * names, here, the file the process runs; else `bpfink.process.executable_unverified`),
 * `user.*` (the acting user, with its local name), `container.id`; the
 * cgroup and login uid go to `bpfink.process.cgroup` and `bpfink.user.audit`.
 */
export function actorEcs(cause: AttributedEvent | undefined): Actor {
  const a = attribution(cause);
  if (!a.process) return { fields: {}, extra: {} };
  const { cgroup, executable, ...process } = a.process;
  const extra: Record<string, unknown> = {};
  const proc: Record<string, unknown> = {};
  if (cgroup) proc.cgroup = cgroup;
  const unverified = cause?.details?.executableUnverified;
  if (executable && !executable.startsWith("/")) proc.executable_name = executable;
  if (unverified !== undefined) {
    proc.executable_unverified = unverified;
    proc.executable_unknown = EXECUTABLE_UNVERIFIED;
  } else if (executable && !executable.startsWith("/")) {
    proc.executable_unknown = cause?.details?.ranAnother
      ? EXECUTABLE_RAN_ANOTHER
      : EXECUTABLE_UNKNOWN;
  }
  if (Object.keys(proc).length) extra.process = proc;
  const { audit, ...user } = a.user ?? {};
  if (audit?.id !== undefined) extra.user = { audit: { id: audit.id } };
  const name = user.id !== undefined ? userName(user.id) : undefined;
  return {
    fields: {
      process: { ...process, ...(executable?.startsWith("/") ? { executable } : {}) },
      ...(user.id !== undefined ? { user: { ...user, ...(name ? { name } : {}) } } : {}),
      ...(a.container ? { container: a.container } : {}),
    },
    extra,
  };
}

/** The level and number of an event's severity. */
export function severityOf(e: ChangeEvent, override?: SeverityLevel): SeverityLevel {
  return override ?? defaultSeverity({
    action: e.event.action,
    message: e.message,
    target: e.user?.target,
    group: e.group,
    changes: e.bpfink?.changes as { field: string; from?: unknown; to?: unknown }[] | undefined,
  });
}

/**
 * `e` with the envelope every event carries: `ecs.version`, `host.*`,
 * `agent.*`, `event.severity` (and `bpfink.severity`, its level name),
 * `event.outcome` and `related.user`.
 */
export function withEnvelope(
  e: ChangeEvent,
  hostname: string,
  severity?: SeverityLevel,
): ChangeEvent {
  const level = severityOf(e, severity);
  const related = new Set<string>();
  for (const u of [e.user, e.user?.effective, e.user?.target]) {
    if (u?.name) related.add(u.name);
    if (u?.id) related.add(u.id);
  }
  return {
    ...e,
    ecs: { version: ECS_VERSION },
    event: { ...e.event, severity: SEVERITY_NUMBER[level], outcome: "success" },
    host: hostFields(hostname),
    agent: agentFields(hostname),
    ...(related.size ? { related: { user: [...related] } } : {}),
    bpfink: { ...e.bpfink, severity: level },
  };
}

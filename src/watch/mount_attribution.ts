/**
 * Which process's mount, umount or move_mount changed what a watched path
 * resolves to. The kernel sends one event per process and fold window, with
 * the target path the syscall was given (the mount point); a look at the
 * mount table finds the mount points whose lines changed. A path is credited
 * to the process whose target is the changed mount point it is under; where
 * no target says (none given, relative, or not as the table spells it), to
 * the one process that mounted, if only one did; else to none, naming them.
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";
import type { MountChanges } from "./mount_table.ts";

/** Who changed a path through a mount: the process, else why none is named. */
export type MountCredit = { cause: FimEvent } | { cause?: undefined; unnamed: string };

/**
 * A mount event's target as the mount table spells a mount point, or
 * undefined when it cannot be compared: none, relative (to a cwd or fd
 * unknown here), or with `.` or `..` components.
 */
export function mountTarget(e: FimEvent): string | undefined {
  const t = e.name.replace(/\/+/g, "/");
  if (!t.startsWith("/")) return undefined;
  const parts = t.split("/");
  if (parts.includes(".") || parts.includes("..")) return undefined;
  return t.length > 1 && t.endsWith("/") ? t.slice(0, -1) : t;
}

/** Whether `path` is `point` or below it. */
function under(point: string, path: string): boolean {
  return point === "/" || path === point || path.startsWith(`${point}/`);
}

/**
 * The credit for a change of `path` found by a look at the mount table that
 * saw `changes`, among `mounters` (the events of the processes that may have
 * made them, one per process or more). `key` names one process.
 */
export function mountCredit(
  path: string,
  changes: MountChanges,
  mounters: readonly FimEvent[],
  key: (e: FimEvent) => string,
): MountCredit {
  if (changes !== "all") {
    // The deepest changed mount point above the path whose target a mounter named.
    let best: { point: string; e: FimEvent } | undefined;
    for (const e of mounters) {
      const t = mountTarget(e);
      if (t === undefined || !changes.includes(t) || !under(t, path)) continue;
      // The same mount point twice: the table shows what the later one left.
      if (!best || t.length > best.point.length || (t === best.point && e.tsNs > best.e.tsNs)) {
        best = { point: t, e };
      }
    }
    if (best) return { cause: best.e };
  }
  const processes = new Map(mounters.map((e) => [key(e), e]));
  if (processes.size === 1) return { cause: mounters[0] };
  const who = [...processes.values()].map((e) => `${e.comm} [${e.tgid}]`).join(", ");
  return { unnamed: processes.size ? `one of ${who} mounted` : "the mount's process was not seen" };
}

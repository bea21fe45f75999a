/**
 * The files sudoers lets users run as another user: the programs its rules
 * and `Cmnd_Alias`es name (`alice ALL=(root) NOPASSWD: /opt/scripts/backup.sh`,
 * an interpreter's script: `/usr/bin/python3 /opt/tools/x.py`), and the
 * directories a command ending in `/` opens whole. Whoever can write such a
 * file, or plant one in such a directory, runs code as root through sudo
 * without a line of sudoers changing: a watched sudoers makes them watched,
 * as files (directories: their names), critical when the command runs as
 * root (no runas list, `root`, `#0`, `ALL`; an alias's commands always),
 * high otherwise. Not followed: commands with a digest (sudo checks the
 * file's hash), negated ones, `ALL`, aliases (their members are), globs,
 * `sudoedit` (its arguments are files edited, not run), and the system's
 * binaries (`_command_programs.ts`).
 *
 * @module
 */
import { normalize } from "node:path/posix";
import type { IncludedPath } from "../consumer.ts";
import { commandPrograms, inSystemDir, WatchedPrograms } from "../_command_programs.ts";
import type { SudoersEntry, SudoersRunas } from "./sudoers_types.ts";

/** Whether a runas list lets the command run as root (none: sudo's default, root). */
function asRoot(runas: SudoersRunas | undefined): boolean {
  if (!runas) return true;
  // `(:wheel)`: as the invoking user, with another group.
  if (runas.users.length === 0) return runas.groups === undefined;
  return runas.users.some((u) => u === "root" || u === "ALL" || u === "#0");
}

/** The files and directories `command` (as sudoers_types.ts keeps it) runs. */
function commandFiles(command: string): { path: string; dir: boolean }[] {
  // Negated (`!/bin/sh`: a denial), checked against a digest (`sha256:… /x`), or no path.
  if (command.startsWith("!") || /^sha(224|256|384|512):/.test(command)) return [];
  const path = command.split(/\s/, 1)[0];
  if (!path.startsWith("/") || /[*?[\]]/.test(path)) return [];
  if (path.endsWith("/")) {
    // The directory itself (`/opt/bin/` is /opt/bin); `/` opens no directory worth a watch.
    const dir = normalize(path).replace(/\/+$/, "");
    return dir === "" || inSystemDir(`${dir}/`) ? [] : [{ path: dir, dir: true }];
  }
  return commandPrograms(command, undefined, "").map((p) => ({ path: p, dir: false }));
}

/** The files sudoers `entries` let users run (see the module's doc), each once. */
export function commandFilesOf(entries: readonly SudoersEntry[]): IncludedPath[] {
  const out = new WatchedPrograms();
  const add = (f: { path: string; dir: boolean }, severity: "critical" | "high") =>
    out.add(f.path, severity, f.dir);
  for (const e of entries) {
    if (e.kind === "rule") {
      for (const spec of e.specs) {
        // A runas list holds for the commands after it, up to the next one.
        let runas: SudoersRunas | undefined;
        for (const c of spec.commands) {
          runas = c.runas ?? runas;
          for (const f of commandFiles(c.command)) add(f, asRoot(runas) ? "critical" : "high");
        }
      }
    } else if (e.kind === "alias" && e.aliasType === "Cmnd_Alias") {
      for (const m of e.members) for (const f of commandFiles(m)) add(f, "critical");
    }
  }
  return out.values();
}

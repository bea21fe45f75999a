/**
 * The files a PAM service's rules make part of every login besides the
 * rules themselves: a module loaded from an absolute path outside the
 * system's module directories (those are a config's to watch as a whole), the program
 * pam_exec runs (with the typed password, given `expose_authtok`), and the
 * list pam_listfile allows or denies by (`file=`). A change to any of them
 * changes who gets in, or what runs as root when they do, without a line of
 * the service changing.
 *
 * @module
 */
import { loadedModule, type PamLine } from "./pam_conf.ts";
import { inModuleDir } from "./pam_diff.ts";
import type { IncludedPath } from "../consumer.ts";
import { WatchedPrograms } from "../_command_programs.ts";

/** pam_exec's own options (Linux-PAM 1.5.2): the first argument that is none of them is the program. */
const EXEC_OPTIONS = /^(debug|expose_authtok|seteuid|quiet|quiet_log|stdout|log=.*|type=.*)$/;

/**
 * The files `lines` load, run or read lists from (see the module's doc), as
 * files; a module or a program at least critical (it runs inside every login,
 * as root), a list at least high.
 */
export function namedFilesOf(lines: readonly PamLine[]): IncludedPath[] {
  const out = new WatchedPrograms();
  const add = (path: string, severity: "critical" | "high") => out.add(path, severity);
  for (const l of lines) {
    const loaded = loadedModule(l);
    if (!loaded || l.kind !== "rule") continue;
    if (loaded.path.startsWith("/") && !inModuleDir(loaded.path)) add(loaded.path, "critical");
    if (loaded.file === "pam_exec.so") {
      const program = l.args.find((a) => !EXEC_OPTIONS.test(a));
      if (program?.startsWith("/")) add(program, "critical");
    }
    if (loaded.file === "pam_listfile.so") {
      for (const a of l.args) if (a.startsWith("file=/")) add(a.slice("file=".length), "high");
    }
  }
  return out.values();
}

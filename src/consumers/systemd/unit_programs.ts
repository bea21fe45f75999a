/**
 * What a systemd unit runs, and as whom: the programs of its `Exec*=`
 * settings (`_command_programs.ts`, after systemd's prefixes `@`, `-`,
 * `:`, `+`, `!`) and the files of its `EnvironmentFile=`, which set the
 * environment of every program it starts (`LD_PRELOAD` too). Whoever can
 * write one runs code as the unit's user at its next start: a watched unit
 * makes them watched, as files; critical when it runs as root (no `User=`,
 * `User=root` or `0`, not `DynamicUser=`; a `+` or `!` command always).
 * systemd looks a bare name up in a PATH of its own.
 *
 * @module
 */
import type { IncludedPath } from "../consumer.ts";
import { commandPrograms, WatchedPrograms } from "../_command_programs.ts";
import type { UnitSetting } from "./unit_file.ts";

/** Where systemd looks for a program named without a `/` (systemd.service(5)). */
const SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

/** Whether `key` runs a command (`ExecStart`, `ExecStartPre`, `ExecStopPost`, ...). */
export function isExec(key: string): boolean {
  return key.startsWith("Exec") && key !== "ExecSearchPath";
}

/** A command's prefixes (`@`, `-`, `:`, `+`, `!`, `!!`) and the command after them. */
export function execPrefix(value: string): { prefix: string; command: string } {
  const m = /^[@\-:+!]*/.exec(value)![0];
  return { prefix: m, command: value.slice(m.length) };
}

const yes = (v: string) => ["1", "yes", "y", "true", "t", "on"].includes(v.toLowerCase());

/** Whether the unit's `settings` run its commands as root. */
export function runsAsRoot(settings: readonly UnitSetting[]): boolean {
  let user = "";
  let dynamic = false;
  for (const s of settings) {
    if (s.key === "User") user = s.value;
    if (s.key === "DynamicUser") dynamic = yes(s.value);
  }
  return !dynamic && (user === "" || user === "root" || user === "0");
}

/** Whether `value`, a command of a unit whose commands run `asRoot` or not, runs as root. */
export function commandAsRoot(value: string, asRoot: boolean): boolean {
  const { prefix } = execPrefix(value);
  return asRoot || prefix.includes("+") || prefix.includes("!");
}

/** The programs and environment files `settings` name (see the module's doc), each once. */
export function unitPrograms(settings: readonly UnitSetting[]): IncludedPath[] {
  const asRoot = runsAsRoot(settings);
  const out = new WatchedPrograms();
  for (const s of settings) {
    if (isExec(s.key)) {
      const severity = commandAsRoot(s.value, asRoot) ? "critical" : "high";
      for (const p of commandPrograms(execPrefix(s.value).command, undefined, SYSTEMD_PATH)) {
        out.add(p, severity);
      }
    } else if (s.key === "EnvironmentFile") {
      // `-/etc/default/x`: no error when it is missing.
      const path = s.value.replace(/^-/, "");
      if (path.startsWith("/") && !/[%$]/.test(path)) out.add(path, asRoot ? "critical" : "high");
    }
  }
  return out.values();
}

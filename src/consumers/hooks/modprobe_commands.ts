/**
 * modprobe.d's commands: `install MODULE COMMAND...` runs COMMAND through
 * `/bin/sh -c` in place of loading MODULE, `remove MODULE COMMAND...` in
 * place of removing it, as root, each time (modprobe.d(5)); a module the
 * kernel asks for (a device, a socket family) loads it without anyone
 * typing modprobe. Lines are joined by a trailing `\`, and `#` starts a
 * comment line.
 *
 * @module
 */
import type { HookCommand, HookFormat } from "./hook_consumer.ts";
import { continuedLines } from "../_continued_lines.ts";
import type { ParseError } from "../parse_result.ts";

/** The `install` and `remove` commands of a modprobe.d file. */
export function modprobeCommands(text: string): { entries: HookCommand[]; errors: ParseError[] } {
  const entries: HookCommand[] = [];
  const errors: ParseError[] = [];
  for (const l of continuedLines(text)) {
    const m = /^(install|remove)[ \t]+(\S+)[ \t]*(.*)$/s.exec(l.text);
    if (!m) continue;
    if (m[3].trim() === "") {
      errors.push({ line: l.line, message: `${m[1]} names no command` });
      continue;
    }
    entries.push({ line: l.line, setting: `${m[1]} ${m[2]} ${m[3]}`, command: m[3] });
  }
  return { entries, errors };
}

/** modprobe.d files (`*.conf` in a `modprobe.d`). */
export const MODPROBE: HookFormat = {
  name: "modprobe",
  runner: "modprobe",
  when: "when the module loads or is removed",
  commands: modprobeCommands,
  // sh's default PATH under modprobe, which the kernel starts with PATH=/sbin:/usr/sbin:/bin:/usr/bin.
  path: "/sbin:/usr/sbin:/bin:/usr/bin",
};

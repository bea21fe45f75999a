/**
 * logrotate's scripts: the lines between `prerotate`, `postrotate`,
 * `firstaction`, `lastaction` or `preremove` and `endscript`, which
 * logrotate hands to `/bin/sh -c` at each rotation, as root on Debian
 * (a systemd timer starts it daily). Each script line is a command line
 * here; a `#` line in a script is the shell's comment.
 *
 * @module
 */
import type { HookCommand, HookFormat } from "./hook_consumer.ts";
import type { ParseError } from "../parse_result.ts";

/** The directives that open a script. */
const SCRIPTS = new Set(["prerotate", "postrotate", "firstaction", "lastaction", "preremove"]);

/** The script lines of a logrotate configuration file. */
export function logrotateScripts(text: string): { entries: HookCommand[]; errors: ParseError[] } {
  const entries: HookCommand[] = [];
  const errors: ParseError[] = [];
  let open: { kind: string; line: number } | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (open) {
      if (t === "endscript") open = undefined;
      else if (t !== "" && !t.startsWith("#")) {
        entries.push({ line: i + 1, setting: `${open.kind}: ${t}`, command: t });
      }
      continue;
    }
    const first = t.split(/[ \t]/)[0];
    if (SCRIPTS.has(first)) open = { kind: first, line: i + 1 };
  }
  if (open) errors.push({ line: open.line, message: `${open.kind} has no endscript` });
  return { entries, errors };
}

/** logrotate's configuration (`logrotate.conf`, `logrotate.d/*`). */
export const LOGROTATE: HookFormat = {
  name: "logrotate",
  runner: "logrotate",
  when: "at each rotation",
  commands: logrotateScripts,
  // The PATH of logrotate.service, as systemd starts it.
  path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
};

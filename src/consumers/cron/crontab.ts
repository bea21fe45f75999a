/**
 * crontab files as cron reads them (crontab(5)): blank lines and lines
 * starting with `#` (after blanks) are skipped; `NAME = value` sets the
 * environment of the jobs after it; any other line is a job: five time
 * fields or an `@` schedule, then, in a system crontab (/etc/crontab,
 * /etc/cron.d/*), the user it runs as, then the command (the rest of the
 * line). Lenient by design: every line that is not blank, a comment or a
 * setting is a job, so none is missed; a line cron would refuse is still
 * reported as a job added.
 *
 * @module
 */
import type { ParseResult } from "../parse_result.ts";

/** One job. */
export interface CronJob {
  /** 1-based line number. */
  line: number;
  /** The five time fields, or the `@` schedule, joined by one blank. */
  schedule: string;
  /** Whom it runs as: the user field of a system crontab, else the crontab's owner (undefined here). */
  user?: string;
  /** The command, as written (a `%` becomes a newline for cron). */
  command: string;
}

/** One environment setting. */
export interface CronSetting {
  line: number;
  name: string;
  value: string;
}

/** What a crontab holds. */
export interface Crontab extends ParseResult<CronJob> {
  settings: CronSetting[];
}

/** `NAME=value`, blanks around `=` allowed, the value optionally quoted (a loop, linear). */
function setting(l: string): { name: string; value: string } | undefined {
  const f = fields(l, 1);
  const eq = f.fields[0]?.indexOf("=") ?? -1;
  // `NAME=value`, `NAME= value`, or `NAME = value`.
  let name: string;
  let value: string;
  if (eq > 0) {
    name = f.fields[0].slice(0, eq);
    value = f.fields[0].slice(eq + 1) + (f.rest === "" ? "" : " " + f.rest);
    if (f.fields[0].length === eq + 1) value = f.rest;
  } else if (eq < 0 && f.rest.startsWith("=")) {
    name = f.fields[0];
    value = f.rest.slice(1).replace(/^[ \t]+/, "");
  } else {
    return undefined;
  }
  if (name === "" || name.includes("#")) return undefined;
  let end = value.length;
  while (end > 0 && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  return { name, value: value.slice(0, end) };
}

function unquoted(v: string): string {
  const q = v[0];
  return (q === '"' || q === "'") && v.length >= 2 && v.endsWith(q) ? v.slice(1, -1) : v;
}

/** The blank-separated fields of `s` up to `n`, and the rest after the blanks that follow. */
function fields(s: string, n: number): { fields: string[]; rest: string } {
  const out: string[] = [];
  let i = 0;
  while (out.length < n) {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
    const start = i;
    while (i < s.length && s[i] !== " " && s[i] !== "\t") i++;
    if (start === i) break;
    out.push(s.slice(start, i));
  }
  while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  return { fields: out, rest: s.slice(i) };
}

/** The jobs and settings of a crontab; `system`: it has a user field (/etc/crontab, cron.d). */
export function parseCrontab(text: string, system: boolean): Crontab {
  const entries: CronJob[] = [];
  const settings: CronSetting[] = [];
  const errors: Crontab["errors"] = [];
  let lineNo = 0;
  for (const raw of text.split("\n")) {
    lineNo++;
    const l = raw.replace(/\r$/, "");
    const trimmed = l.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const s = /^[@0-9*]/.test(trimmed) ? undefined : setting(trimmed);
    if (s) {
      settings.push({ line: lineNo, name: s.name, value: unquoted(s.value) });
      continue;
    }
    const timeFields = trimmed.startsWith("@") ? 1 : 5;
    const f = fields(trimmed, timeFields + (system ? 1 : 0));
    if (f.fields.length < timeFields + (system ? 1 : 0) || f.rest === "") {
      // Still a line cron may run something from: reported whole as the command.
      errors.push({ line: lineNo, message: "not a complete job line" });
      entries.push({ line: lineNo, schedule: "", command: trimmed });
      continue;
    }
    entries.push({
      line: lineNo,
      schedule: f.fields.slice(0, timeFields).join(" "),
      ...(system ? { user: f.fields[timeFields] } : {}),
      command: f.rest,
    });
  }
  return { entries, settings, errors };
}

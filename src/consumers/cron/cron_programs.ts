/**
 * The programs a crontab's jobs run, where a job names one by an absolute
 * path outside the system's binary directories (`/usr/local/bin/backup.sh`,
 * or the script an interpreter runs: `/usr/bin/php /var/www/app/cron.php`).
 * Whoever can write such a file runs code as the job's user at its next
 * run, root's too, without a line of the crontab changing: a watched
 * crontab makes them watched (as files; a root job's at least critical,
 * another's high). The system's binaries (`/usr/bin`, ...) are the
 * package manager's and a config's to watch as a whole.
 *
 * @module
 */
import type { IncludedPath } from "../consumer.ts";
import type { CronJob } from "./crontab.ts";

/** Where the system's own programs live. */
const SYSTEM_DIRS = ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"];

/** Programs that run the file named after their options. */
const INTERPRETERS = new Set([
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "python",
  "python3",
  "perl",
  "php",
  "ruby",
  "node",
]);

/** The absolute paths `command` runs as programs (its first word, and an interpreter's script). */
export function programsIn(command: string): string[] {
  // cron hands what follows an unescaped `%` to the command as its input.
  const run = command.split(/(?<!\\)%/)[0];
  const words = run.split(/[\s;&|()]+/).filter((w) => w !== "" && !/^\w+=/.test(w));
  const out: string[] = [];
  const first = words[0];
  if (first === undefined) return out;
  out.push(first);
  const name = first.slice(first.lastIndexOf("/") + 1);
  if (INTERPRETERS.has(name)) {
    const script = words.slice(1).find((w) => !w.startsWith("-"));
    if (script !== undefined) out.push(script);
  }
  return out.filter((p) => p.startsWith("/") && !SYSTEM_DIRS.some((d) => p.startsWith(d)));
}

/**
 * The programs `jobs` run (see the module's doc), each once; `owner` is a
 * user crontab's user, whom its jobs run as.
 */
export function programsOf(jobs: readonly CronJob[], owner?: string): IncludedPath[] {
  const out = new Map<string, IncludedPath>();
  for (const j of jobs) {
    const severity = (j.user ?? owner) === "root" ? "critical" : "high";
    for (const path of programsIn(j.command)) {
      const had = out.get(path);
      if (had && (had.severity === "critical" || severity === "high")) continue;
      out.set(path, { path, dir: false, consumer: "generic", severity });
    }
  }
  return [...out.values()];
}

/**
 * The programs a crontab's jobs run (`_command_programs.ts`): whoever can
 * write such a file runs code as the job's user at its next run, root's
 * too, without a line of the crontab changing. A watched crontab makes
 * them watched (as files; a root job's at least critical, another's high).
 * A job runs from its user's home (the crontab's `HOME`, else passwd's;
 * root's is `/root` when neither says), with the crontab's `PATH` (cron's
 * own is `/usr/bin:/bin`), so `PATH=/opt/bin:/usr/bin` makes
 * `/opt/bin/backup` watched for its creation ahead of `/usr/bin/backup`.
 *
 * @module
 */
import type { IncludedPath } from "../consumer.ts";
import type { CronJob, CronSetting } from "./crontab.ts";
import { commandPrograms, WatchedPrograms } from "../_command_programs.ts";

/** cron's PATH for a crontab that sets none. */
const CRON_PATH = "/usr/bin:/bin";

/**
 * The files `command` runs as programs, outside the system's binary
 * directories. `home` is the job's directory, `path` the crontab's PATH
 * (cron's own when undefined).
 */
export function programsIn(command: string, home?: string, path?: string): string[] {
  // cron hands what follows an unescaped `%` to the command as its input.
  return commandPrograms(command.split(/(?<!\\)%/)[0], home, path ?? CRON_PATH);
}

/**
 * The programs `jobs` run (see the module's doc), each once, at most
 * MAX_PROGRAMS; `owner` is a user crontab's user, whom its jobs run as;
 * `settings` the crontab's (`HOME`, `PATH`); `homes` each user's home by
 * passwd (root's is `/root` when passwd does not say).
 */
export function programsOf(
  jobs: readonly CronJob[],
  owner?: string,
  settings: readonly CronSetting[] = [],
  homes: ReadonlyMap<string, string> = new Map(),
): IncludedPath[] {
  const out = new WatchedPrograms();
  // cron applies a setting to the jobs below it: both lists are in the file's order.
  let next = 0;
  const set: { HOME?: string; PATH?: string } = {};
  for (const j of jobs) {
    for (; next < settings.length && settings[next].line < j.line; next++) {
      const { name, value } = settings[next];
      if (name === "HOME" || name === "PATH") set[name] = value;
    }
    const user = j.user ?? owner;
    const severity = user === "root" ? "critical" : "high";
    const home = set.HOME ?? (user === undefined ? undefined : homes.get(user)) ??
      (user === "root" ? "/root" : undefined);
    for (const path of programsIn(j.command, home, set.PATH)) out.add(path, severity);
  }
  return out.values();
}

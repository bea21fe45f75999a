/**
 * What changed in a crontab: jobs added or removed (a job is its schedule,
 * user and command), and environment settings set, changed or unset. A job
 * added is code that will run: critical when it runs as a uid-0 account,
 * high otherwise. A setting that changes how every later job's command is
 * found or run (PATH, SHELL, a loader or shell start-up variable) is high.
 *
 * @module
 */
import type { CronJob, CronSetting } from "./crontab.ts";
import { multisetDiff } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";
import { isDangerousVariable } from "../sudoers/_weakens.ts";

/** An account by name, as passwd says. */
export type UidOf = (user: string) => number | undefined;

/** Settings that change how every job after them runs. */
function steersJobs(name: string): boolean {
  return name === "PATH" || name === "SHELL" || isDangerousVariable(name);
}

const jobKey = (j: CronJob) => `${j.schedule}\0${j.user ?? ""}\0${j.command}`;

/**
 * The changes between two parses of the crontab `file`. `owner` is whom a
 * user crontab's jobs run as (its file name); a system crontab's jobs name
 * their user.
 */
export function diffCron(
  before: { jobs: CronJob[]; settings: CronSetting[] },
  after: { jobs: CronJob[]; settings: CronSetting[] },
  file: string,
  uidOf: UidOf,
  owner?: string,
): SemanticChange[] {
  const out = new ChangeList("cron");
  const { added, removed } = multisetDiff(before.jobs, after.jobs, jobKey);
  const describe = (j: CronJob) => {
    const user = j.user ?? owner;
    const as = user === undefined ? "" : ` for ${shown(user)}`;
    const when = j.schedule === "" ? "" : `${shown(j.schedule)} `;
    return { user, text: `${as}: ${when}${shown(j.command)}` };
  };
  for (const j of added) {
    const { user, text } = describe(j);
    const uid = user === undefined ? undefined : uidOf(user);
    const severity: SeverityLevel = uid === 0 ? "critical" : "high";
    out.push({
      action: "cron_job_added",
      subject: jobKey(j),
      message: `cron job added${text}`,
      source: { file, line: j.line },
      ...(user === undefined
        ? {}
        : { fields: { user: { name: user, ...(uid === undefined ? {} : { id: String(uid) }) } } }),
      severity,
    });
  }
  for (const j of removed) {
    const { text } = describe(j);
    out.push({
      action: "cron_job_removed",
      subject: jobKey(j),
      message: `cron job removed${text}`,
      source: { file, line: j.line },
      severity: "medium",
    });
  }
  // Settings by name, the last value of each (each job sees the latest setting above it).
  const last = (ss: CronSetting[]) => new Map(ss.map((s) => [s.name, s]));
  const [was, now] = [last(before.settings), last(after.settings)];
  for (const name of new Set([...was.keys(), ...now.keys()])) {
    const from = was.get(name)?.value;
    const to = now.get(name)?.value;
    if (from === to) continue;
    out.push({
      action: "cron_setting_changed",
      subject: name,
      message: `cron setting ${shown(name)}: ${
        from === undefined ? "unset" : `"${shown(from)}"`
      } → ${to === undefined ? "unset" : `"${shown(to)}"`}`,
      changes: [{ field: name, from: from ?? null, to: to ?? null }],
      source: { file, line: (now.get(name) ?? was.get(name))!.line },
      severity: steersJobs(name) ? "high" : "medium",
    });
  }
  return out.done();
}

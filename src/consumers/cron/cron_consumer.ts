/**
 * The cron consumer: /etc/crontab and /etc/cron.d/* (system crontabs, with
 * a user field), and the user crontabs in a `crontabs` directory
 * (/var/spool/cron/crontabs/NAME, whose jobs run as NAME). Which account a
 * user name is comes from /etc/passwd when the change is read. The programs
 * its jobs run are watched too (`cron_programs.ts`), a relative one found
 * from its user's home as passwd said when the crontab was read.
 *
 * @module
 */
import { type CronJob, type CronSetting, parseCrontab } from "./crontab.ts";
import { diffCron } from "./cron_diff.ts";
import { programsOf } from "./cron_programs.ts";
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { hostAccounts } from "../_host_accounts.ts";
import { lastName, parentName } from "../../watch/path_names.ts";

interface Snapshot {
  jobs: CronJob[];
  settings: CronSetting[];
  /** A user crontab's user (its file's name): whom its jobs run as. */
  owner?: string;
  /**
   * The home of each user its jobs run as, from /etc/passwd when it was
   * read, as [user, home] pairs: where cron starts the job, and so where a
   * relative program is found.
   */
  homes?: [string, string][];
}

/** The homes of `users` by /etc/passwd (the first line of a name, as getpwnam). */
function homesOf(ctx: ConsumerContext, users: Set<string>): [string, string][] {
  const out = new Map<string, string>();
  for (const e of hostAccounts(ctx) ?? []) {
    if (users.has(e.name) && !out.has(e.name) && e.home.startsWith("/")) out.set(e.name, e.home);
  }
  return [...out];
}

/** A user crontab: named after its user, in a `crontabs` directory. */
const isUserCrontab = (path: string) => parentName(path) === "crontabs";

/** Each account's uid by name, from passwd (the first line of a name, as getpwnam). */
function uids(ctx: ConsumerContext): (user: string) => number | undefined {
  const accounts = hostAccounts(ctx);
  const m = new Map<string, number>();
  for (const e of accounts ?? []) if (!m.has(e.name)) m.set(e.name, e.uid);
  return (user) => m.get(user) ?? (accounts === undefined && user === "root" ? 0 : undefined);
}

/** crontabs. */
export const cronConsumer: Consumer = {
  name: "cron",
  /** A user crontab another user owns is read by meaning when that user is the one it is named after. */
  readsByName(path: string, uid: number, ctx: ConsumerContext): boolean {
    return isUserCrontab(path) && uids(ctx)(lastName(path)) === uid;
  },
  snapshot(path: string, text: string, ctx: ConsumerContext): Snapshot {
    const r = parseCrontab(text, !isUserCrontab(path));
    const owner = isUserCrontab(path) ? lastName(path) : undefined;
    const users = new Set<string>();
    for (const j of r.entries) {
      const user = j.user ?? owner;
      if (user !== undefined) users.add(user);
    }
    const homes = homesOf(ctx, users);
    return {
      jobs: r.entries,
      settings: r.settings,
      ...(owner !== undefined ? { owner } : {}),
      ...(homes.length > 0 ? { homes } : {}),
    };
  },
  diff(path: string, before: unknown, after: unknown, ctx: ConsumerContext) {
    const none = { jobs: [], settings: [] };
    return diffCron(
      (before as Snapshot | undefined) ?? none,
      (after as Snapshot | undefined) ?? none,
      path,
      uids(ctx),
      isUserCrontab(path) ? lastName(path) : undefined,
    );
  },
  // The programs its jobs run: watched as files (cron_programs.ts).
  watchAlso(snapshot: unknown) {
    const s = snapshot as Snapshot | undefined;
    return programsOf(s?.jobs ?? [], s?.owner, s?.settings, new Map(s?.homes ?? []));
  },
};

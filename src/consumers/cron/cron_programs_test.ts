import { assertEquals } from "../../../test/assert.ts";
import { programsIn, programsOf } from "./cron_programs.ts";
import { parseCrontab } from "./crontab.ts";

Deno.test("programsIn: the first word, an interpreter's script, not the system's binaries", () => {
  assertEquals(programsIn("/usr/local/bin/backup.sh --full"), ["/usr/local/bin/backup.sh"]);
  assertEquals(programsIn("/usr/bin/php -q /var/www/app/cron.php"), ["/var/www/app/cron.php"]);
  assertEquals(programsIn("LANG=C bash /opt/x/run.sh >/dev/null 2>&1"), ["/opt/x/run.sh"]);
  assertEquals(programsIn("/opt/x/job.sh%input for it"), ["/opt/x/job.sh"]);
  // Debian's own /etc/crontab: run-parts by name, a directory as its argument.
  assertEquals(programsIn("cd / && run-parts --report /etc/cron.hourly"), []);
  assertEquals(programsIn("test -x /usr/sbin/anacron || /usr/sbin/anacron"), []);
  assertEquals(programsIn("relative/script.sh"), []);
});

Deno.test("programsOf: a program root's job runs is critical, another user's high", () => {
  const { entries } = parseCrontab(
    "* * * * * www-data /srv/app/cron.sh\n@reboot root /srv/app/cron.sh\n" +
      "0 1 * * * backup /opt/backup/run.sh\n",
    true,
  );
  assertEquals(programsOf(entries), [
    { path: "/srv/app/cron.sh", dir: false, consumer: "generic", severity: "critical" },
    { path: "/opt/backup/run.sh", dir: false, consumer: "generic", severity: "high" },
  ]);
  // root's own crontab (crontab -e as root): its jobs run as root.
  const mine = parseCrontab("@hourly /opt/x/sync.sh\n", false).entries;
  assertEquals(programsOf(mine, "root")[0].severity, "critical");
  assertEquals(programsOf(mine, "alice")[0].severity, "high");
});

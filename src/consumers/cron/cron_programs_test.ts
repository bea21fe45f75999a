import { assert, assertEquals } from "../../../test/assert.ts";
import { programsIn, programsOf } from "./cron_programs.ts";
import { MAX_PROGRAMS } from "../_command_programs.ts";
import { parseCrontab } from "./crontab.ts";
import { cronConsumer } from "./cron_consumer.ts";
import { consumerContext } from "../consumer_context.ts";

Deno.test("programsIn: the first word, an interpreter's script, not the system's binaries", () => {
  assertEquals(programsIn("/usr/local/bin/backup.sh --full"), ["/usr/local/bin/backup.sh"]);
  assertEquals(programsIn("/usr/bin/php -q /var/www/app/cron.php"), ["/var/www/app/cron.php"]);
  assertEquals(programsIn("LANG=C bash /opt/x/run.sh >/dev/null 2>&1"), ["/opt/x/run.sh"]);
  assertEquals(programsIn("/opt/x/job.sh%input for it"), ["/opt/x/job.sh"]);
  assertEquals(programsIn("cd / && run-parts --report /etc/cron.hourly"), []);
  assertEquals(programsIn("test -x /usr/sbin/anacron || /usr/sbin/anacron"), []);
  // Without a home (a user's, when the crontab sets no HOME), a relative name is not followed.
  assertEquals(programsIn("relative/script.sh"), []);
});

Deno.test("programsIn: every command of the line, as sh runs it", () => {
  // Debian's e2fsprogs and php jobs: the program is the second command, after a test.
  assertEquals(
    programsIn(
      "test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron",
    ),
    ["/usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron"],
  );
  assertEquals(
    programsIn(
      "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi",
    ),
    ["/usr/lib/php/sessionclean"],
  );
  assertEquals(programsIn("/opt/a; /opt/b | /opt/c && (/opt/d) || `/opt/e` $(/opt/f)"), [
    "/opt/a",
    "/opt/b",
    "/opt/c",
    "/opt/d",
    "/opt/e",
    "/opt/f",
  ]);
  // Quotes and escapes are removed as sh removes them; a redirection's target is not a program.
  assertEquals(programsIn(`'/opt/my app/run' "/opt/x"\\ y > /opt/log 2>&1 </opt/in`), [
    "/opt/my app/run",
  ]);
  assertEquals(programsIn(`"/opt/x"\\ y`), ["/opt/x y"]);
  // Programs that run another, with their options and arguments.
  assertEquals(
    programsIn(
      "nice -n 10 ionice -c2 -n7 timeout 5m env -i A=1 /opt/a; nohup flock -n /tmp/l /opt/b; " +
        "flock /tmp/l -c 'cd /srv && ./c'; exec /opt/d",
    ),
    ["/opt/a", "/opt/b", "/srv/c", "/opt/d"],
  );
  // A `#` that starts a word comments out the rest; an expansion is not followed.
  assertEquals(programsIn("/opt/a # /opt/b"), ["/opt/a"]);
  assertEquals(programsIn("$HOME/bin/x; /opt/$V/y; ~bob/z"), []);
});

Deno.test("programsIn: a relative name from the job's directory, as cd moves it", () => {
  assertEquals(programsIn("cd /opt/app && ./run.sh && bin/more"), [
    "/opt/app/run.sh",
    "/opt/app/bin/more",
  ]);
  assertEquals(programsIn("./sync.sh; scripts/x; ~/y", "/root"), [
    "/root/sync.sh",
    "/root/scripts/x",
    "/root/y",
  ]);
  assertEquals(programsIn("cd /srv/a/../b; cd c; ./run; cd; ./home", "/root"), [
    "/srv/b/c/run",
    "/root/home",
  ]);
  // After `cd -` or a cd to an expansion the directory is not known.
  assertEquals(programsIn("cd $DIR && ./run"), []);
  // `sh -c` reads its string as commands; a cd there moves only that shell.
  assertEquals(programsIn(`sh -c "cd /opt/x && ./a" && ./b`, "/root"), [
    "/opt/x/a",
    "/root/b",
  ]);
  assertEquals(programsIn("bash -o pipefail -ec '/opt/y | ./z'", "/home/u"), [
    "/opt/y",
    "/home/u/z",
  ]);
  // An interpreter's own code or module is no file; its script is, from the directory.
  assertEquals(programsIn("python3 -m app.cron; perl -e 'x'; php job.php", "/srv"), [
    "/srv/job.php",
  ]);
  assertEquals(programsIn(". ./env.sh; source /opt/env", "/srv"), ["/srv/env.sh", "/opt/env"]);
});

Deno.test("programsIn: a name without a slash in each directory of the crontab's PATH", () => {
  // cron's own PATH is the system's: nothing to watch.
  assertEquals(programsIn("backup --full"), []);
  // Debian's /etc/crontab puts /usr/local first: a run-parts there runs as root every hour.
  const debian = "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin";
  assertEquals(programsIn("cd / && run-parts --report /etc/cron.hourly", undefined, debian), [
    "/usr/local/sbin/run-parts",
    "/usr/local/bin/run-parts",
  ]);
  // Built-ins run no file; a relative PATH entry is not followed.
  assertEquals(programsIn("echo hi; test -f x; true", undefined, "/opt/bin:bin"), []);
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
  // root's own crontab (crontab -e as root): its jobs run as root, from /root.
  const mine = parseCrontab("@hourly ./sync.sh\n", false).entries;
  assertEquals(programsOf(mine, "root"), [
    { path: "/root/sync.sh", dir: false, consumer: "generic", severity: "critical" },
  ]);
  assertEquals(programsOf(mine, "alice"), []);
});

Deno.test("programsOf: HOME and PATH as the crontab sets them, for the jobs below", () => {
  const { entries, settings } = parseCrontab(
    "@hourly a\nPATH=/opt/bin:/usr/bin\nHOME=/srv/alice\n@daily b; ./c\n",
    false,
  );
  assertEquals(programsOf(entries, "alice", settings).map((p) => p.path), [
    "/opt/bin/b",
    "/srv/alice/c",
  ]);
});

Deno.test("programsOf: at most MAX_PROGRAMS from one crontab", () => {
  const lines = Array.from({ length: MAX_PROGRAMS + 50 }, (_, i) => `@daily /opt/p${i}`);
  const { entries } = parseCrontab(lines.join("\n") + "\n", false);
  assertEquals(programsOf(entries, "alice").length, MAX_PROGRAMS);
});

Deno.test("programsIn: a crontab written to make it work hard stays bounded and quick", () => {
  const t0 = performance.now();
  // 13,000 cds one level deeper each, then a name looked up in a PATH of 10,000 directories.
  const deep = programsIn("cd /a;" + "cd a;".repeat(13_000) + "./x", "/root");
  const path = Array.from({ length: 10_000 }, (_, i) => `/p${i}`).join(":");
  const wide = programsIn(Array.from({ length: 5_000 }, (_, i) => `w${i}`).join(";"), "/", path);
  const nested = programsIn("sh -c '".repeat(2_000) + "/opt/x");
  const ms = performance.now() - t0;
  assertEquals(deep, []);
  assertEquals(wide.length, MAX_PROGRAMS);
  assertEquals(nested, []);
  assert(ms < 1000, `${ms.toFixed(0)} ms`);
});

Deno.test("the cron consumer finds a user's relative program from the home passwd gives", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  const ctx = {
    ...consumerContext(new Uint8Array(32), () => {}),
    readFile: (p: string) => p === "/etc/passwd" ? passwd : undefined,
  };
  const programs = (path: string, text: string) =>
    cronConsumer.watchAlso!(cronConsumer.snapshot(path, text, ctx)).map((p) => p.path);
  assertEquals(programs("/var/spool/cron/crontabs/alice", "@daily bin/sync\n"), [
    "/home/alice/bin/sync",
  ]);
  // A system crontab's jobs, each from its own user's home; one the crontab's HOME moves.
  assertEquals(
    programs("/etc/cron.d/x", "@daily alice ./a\n@daily root ./b\nHOME=/srv\n@daily alice ./c\n"),
    ["/home/alice/a", "/root/b", "/srv/c"],
  );
  // An account passwd does not have: not followed.
  assertEquals(programs("/var/spool/cron/crontabs/bob", "@daily ./x\n"), []);
});

Deno.test("programsOf: thousands of settings and jobs in one crontab stay linear", () => {
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) lines.push(`HOME=/h${i}`, `@daily x`);
  const { entries, settings } = parseCrontab(lines.join("\n") + "\n", false);
  const t0 = performance.now();
  programsOf(entries, "alice", settings);
  const ms = performance.now() - t0;
  assert(ms < 500, `${ms.toFixed(0)} ms`);
});

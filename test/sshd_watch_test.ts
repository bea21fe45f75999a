/**
 * sshd_config by meaning, as an attacker changes it: a drop-in written into
 * the directory the main file includes (Debian's `Include
 * sshd_config.d/*.conf`), watched because of that include, and an edit of
 * the main file by `sed -i`. A file in the directory that the include's
 * pattern does not match stays a plain file.
 */
import { assert, assertEquals } from "./assert.ts";
import { newSshKey, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a drop-in that permits root login is critical; the main file's edits are read by meaning", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  const ssh = `${x}/etc/ssh`;
  await Deno.mkdir(`${ssh}/sshd_config.d`, { recursive: true });
  await Deno.writeTextFile(
    `${ssh}/sshd_config`,
    `Include ${ssh}/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n`,
  );
  const config = await daemonConfig(x, [`- ${ssh}/sshd_config`]);
  const d = new Daemon(config);
  try {
    await d.started();
    await waitFor(() => d.stderr.includes("included by a watched sshd file"), 10_000);
    await Deno.writeTextFile(`${ssh}/sshd_config.d/50-evil.conf`, "PermitRootLogin yes\n");
    const evil = await d.expect(
      (e) => e.event.action === "sshd_setting_added",
      "the drop-in's setting",
    );
    assertEquals(evil.message, "sshd setting added: permitrootlogin yes");
    assertEquals(evil.file?.path, `${ssh}/sshd_config.d/50-evil.conf`);
    assertEquals(evil.bpfink?.severity, "critical");

    const sed = await run([
      "sed",
      "-i",
      "s/^KbdInteractiveAuthentication no$/# removed/",
      `${ssh}/sshd_config`,
    ]);
    assertEquals(sed.code, 0, sed.stderr);
    const removed = await d.expect(
      (e) => e.event.action === "sshd_setting_removed",
      "the removed setting",
    );
    assertEquals(removed.bpfink?.severity, "critical");
    assert(removed.message?.includes("kbdinteractiveauthentication no"), removed.message);
    assertEquals(removed.process?.name, "sed");

    // Not matched by the include's *.conf: sshd never reads it, a plain file.
    await Deno.writeTextFile(`${ssh}/sshd_config.d/README`, "PermitRootLogin yes\n");
    await new Promise((r) => setTimeout(r, 1000));
    const readme = d.changes().filter((e) => e.file?.path === `${ssh}/sshd_config.d/README`);
    assertEquals(readme.filter((e) => e.event.action?.startsWith("sshd_")), []);
  } finally {
    await d.stop();
  }
});

Deno.test("the key files sshd_config names are watched: a CA key trusted, a key for root in its AuthorizedKeysFile", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  const ssh = `${x}/etc/ssh`;
  await Deno.mkdir(`${ssh}/keys`, { recursive: true });
  await Deno.writeTextFile(`${ssh}/ca.pub`, "");
  await Deno.writeTextFile(
    `${ssh}/sshd_config`,
    `TrustedUserCAKeys ${ssh}/ca.pub\nAuthorizedKeysFile .ssh/authorized_keys ${ssh}/keys/%u\n`,
  );
  // Only sshd_config is watched: the files it names come with it.
  const config = await daemonConfig(x, [`- ${ssh}/sshd_config`]);
  const d = new Daemon(config);
  try {
    await d.started();
    for (const p of [`${ssh}/ca.pub`, `${ssh}/keys`]) {
      assert(await waitFor(() => d.stderr.includes(`watching ${p} as ssh_keys`), 10_000), d.stderr);
    }
    await Deno.writeTextFile(`${ssh}/ca.pub`, await newSshKey(`${x}/ca`, "ca@evil"));
    const ca = await d.expect(
      (e) => e.event.action === "ssh_key_added" && e.file?.path === `${ssh}/ca.pub`,
      "the CA key",
    );
    assert(ca.message?.includes("ca@evil"), ca.message);
    // A CA vouches for any account, root's too.
    assertEquals(ca.bpfink?.severity, "critical");
    await Deno.writeTextFile(`${ssh}/keys/root`, await newSshKey(`${x}/x`, "x@evil"));
    const root = await d.expect(
      (e) => e.event.action === "ssh_key_added" && e.file?.path === `${ssh}/keys/root`,
      "root's key",
    );
    assertEquals(root.bpfink?.severity, "critical");
    assertEquals(root.user?.name, "root");
  } finally {
    await d.stop();
  }
});

/**
 * A user's own config names the files bpfink watches with it (a user
 * crontab's programs): the user, not root, chose those paths. Naming a
 * private key of root's must not make its lines reach an event.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a file a user's crontab names is watched by hash only: root's key rotated there shows no line", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.chmod(x, 0o755);
  await Deno.mkdir(`${x}/spool/crontabs`, { recursive: true });
  await Deno.mkdir(`${x}/private`, { mode: 0o700 });
  const key = `${x}/private/server.key`;
  await Deno.writeTextFile(key, "-----BEGIN PRIVATE KEY-----\nOLDKEYMATERIALxyz\n", {
    mode: 0o600,
  });
  // nobody's crontab, as `crontab -e` leaves it: nobody's file, naming root's key as a program.
  const tab = `${x}/spool/crontabs/nobody`;
  await Deno.writeTextFile(tab, `@reboot ${key}\n`);
  await Deno.chown(tab, 65534, 65534);
  const d = new Daemon(await daemonConfig(x, [`- path: ${x}/spool/crontabs`]));
  try {
    await d.started();
    assert(await waitFor(() => d.stderr.includes(`watching ${key} as generic`), 5_000), d.stderr);
    // Root rotates the key.
    await Deno.writeTextFile(key, "-----BEGIN PRIVATE KEY-----\nNEWKEYMATERIALabc\n");
    const changed = await d.expect(
      (e) => e.file?.path === key && e.event.action === "modified",
      "the key's change",
    );
    assertEquals(changed.bpfink?.diff, undefined);
    const all = JSON.stringify(d.events) + d.stderr;
    assert(!all.includes("KEYMATERIAL"), "a line of the key reached an event or the log");
  } finally {
    await d.stop();
  }
});

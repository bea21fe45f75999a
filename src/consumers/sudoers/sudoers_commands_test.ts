import { assertEquals } from "../../../test/assert.ts";
import { parseSudoers } from "./sudoers.ts";
import { commandFilesOf } from "./sudoers_commands.ts";

const files = (text: string) =>
  commandFilesOf(parseSudoers(text, "/etc/sudoers").entries).map((f) => [
    f.path,
    f.dir,
    f.severity,
  ]);

Deno.test("sudoers: the programs its rules let users run as root are watched, critical", () => {
  assertEquals(
    files(
      "alice ALL=(root) NOPASSWD: /opt/scripts/backup.sh --full, /usr/bin/python3 /opt/tools/x.py\n" +
        "bob ALL=/opt/bin/\n",
    ),
    [
      ["/opt/scripts/backup.sh", false, "critical"],
      ["/opt/tools/x.py", false, "critical"],
      // A directory: every program in it.
      ["/opt/bin", true, "critical"],
    ],
  );
  // As another user: high; the runas list holds for the commands after it.
  assertEquals(files("carol ALL=(www-data) /srv/a, /srv/b, (root) /srv/c\n"), [
    ["/srv/a", false, "high"],
    ["/srv/b", false, "high"],
    ["/srv/c", false, "critical"],
  ]);
  assertEquals(files("Cmnd_Alias BACKUP = /opt/b/run, /usr/bin/tar\n"), [
    ["/opt/b/run", false, "critical"],
  ]);
});

Deno.test("sudoers: denials, digests, ALL, globs, sudoedit and the system's binaries are not followed", () => {
  assertEquals(
    files(
      "alice ALL=ALL, !/opt/x, sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef /opt/y\n" +
        "bob ALL=/opt/z/*, sudoedit /etc/motd, /usr/bin/apt\n",
    ),
    [],
  );
});

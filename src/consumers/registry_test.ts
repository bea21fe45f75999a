import { assertEquals } from "../../test/assert.ts";
import { consumerNameFor } from "./registry.ts";

Deno.test("consumerNameFor(): a file named after one of Object's own members is a generic file", () => {
  const names = [
    ...Object.getOwnPropertyNames(Object.prototype),
    "__proto__",
    "prototype",
    "constructor-",
  ];
  for (const name of names) {
    assertEquals(consumerNameFor(`/etc/conf.d/${name}`), "generic", name);
  }
  assertEquals(consumerNameFor("/etc/passwd"), "users");
  assertEquals(consumerNameFor("/etc/passwd-"), "users");
  assertEquals(consumerNameFor("/etc/security/access.conf"), "access");
  // pam_access 1.5.2 reads access.d/*.conf (a `- : root : ALL` there denied root, by pamtester).
  assertEquals(consumerNameFor("/etc/security/access.d/10-ops.conf"), "access");
  assertEquals(consumerNameFor("/etc/security/access.d/.hidden.conf"), "generic");
  assertEquals(consumerNameFor("/etc/security/access.d/10-ops.conf.bak"), "generic");
  // sshd's Include and pam_access read a directory by glob(3): `*.conf` matches no name led by `.`.
  assertEquals(consumerNameFor("/etc/ssh/sshd_config.d/50-x.conf"), "sshd");
  assertEquals(consumerNameFor("/etc/ssh/sshd_config.d/.50-x.conf"), "generic");
  assertEquals(consumerNameFor("/etc/sudoers.d/90-cloud"), "sudoers");
});

Deno.test("consumerNameFor(): a file of a directory a program reads is read its way, whatever its name", () => {
  // Debian ships /etc/pam.d/passwd (the passwd command's service): PAM rules, not accounts.
  assertEquals(consumerNameFor("/etc/pam.d/passwd"), "pam");
  // A name an attacker picks must not hide a root cron job as a group file.
  for (const name of ["group", "shadow", "passwd", "sudoers", "authorized_keys"]) {
    assertEquals(consumerNameFor(`/etc/cron.d/${name}`), "cron", name);
  }
  assertEquals(consumerNameFor("/var/spool/cron/crontabs/sudoers"), "cron");
  // cron reads `passwd-` (run-parts' names); a name the directory's reader skips is plain, not
  // read by its name either.
  assertEquals(consumerNameFor("/etc/cron.d/passwd-"), "cron");
  assertEquals(consumerNameFor("/etc/cron.d/passwd.dpkg-old"), "generic");
  assertEquals(consumerNameFor("/etc/sudoers.d/shadow.bak"), "generic");
});

Deno.test("consumerNameFor(): systemd's unit files and drop-ins under a systemd directory are units", () => {
  assertEquals(consumerNameFor("/etc/systemd/system/app.service"), "systemd");
  assertEquals(consumerNameFor("/etc/systemd/system/app.service.d/override.conf"), "systemd");
  assertEquals(consumerNameFor("/usr/lib/systemd/system/cron.timer"), "systemd");
  assertEquals(consumerNameFor("/home/u/.config/systemd/user/x.service"), "systemd");
  // avahi's services are XML; a conf that is no drop-in; a target names no program.
  assertEquals(consumerNameFor("/etc/avahi/services/ssh.service"), "generic");
  assertEquals(consumerNameFor("/etc/systemd/journald.conf"), "generic");
  assertEquals(consumerNameFor("/etc/systemd/system/default.target"), "generic");
});

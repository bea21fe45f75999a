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

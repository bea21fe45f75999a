import { assertEquals } from "../../../test/assert.ts";
import { parseSshdConfig } from "./sshd_config.ts";
import { keyFilesOf, keyFileWatch } from "./sshd_key_files.ts";

Deno.test("keyFileWatch: a file as named; a token's component and below become a glob under the directory above", () => {
  assertEquals(keyFileWatch("/etc/ssh/ca.pub", "ssh_keys"), {
    path: "/etc/ssh/ca.pub",
    dir: false,
    consumer: "ssh_keys",
  });
  assertEquals(keyFileWatch("/etc/ssh/keys/%u", "ssh_keys"), {
    path: "/etc/ssh/keys",
    dir: true,
    include: ["*"],
    consumer: "ssh_keys",
  });
  assertEquals(keyFileWatch("/srv/keys/%U/keys.%u", "ssh_keys")?.include, ["*/keys.*"]);
  assertEquals(keyFileWatch("/etc/ssh/100%%/ca", "generic")?.path, "/etc/ssh/100%/ca");
  // Each user's own, or everything under /: not for sshd_config to add.
  for (const arg of [".ssh/authorized_keys", "%h/.ssh/keys", "/%u/keys"]) {
    assertEquals(keyFileWatch(arg, "ssh_keys"), undefined, arg);
  }
});

Deno.test("keyFilesOf: the files sshd reads keys, principals and revocations from, under Match too", () => {
  const { entries } = parseSshdConfig(
    "TrustedUserCAKeys /etc/ssh/ca.pub\n" +
      "TrustedUserCAKeys /etc/ssh/ignored.pub\n" + // sshd keeps the first value
      "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\n" +
      "RevokedKeys none\n" +
      "Match User deploy\n  AuthorizedPrincipalsFile /etc/ssh/principals/%u\n",
  );
  assertEquals(keyFilesOf(entries).map((w) => [w.path, w.consumer]), [
    ["/etc/ssh/ca.pub", "ssh_keys"],
    ["/etc/ssh/keys", "ssh_keys"],
    ["/etc/ssh/principals", "generic"],
  ]);
});

import { assertEquals } from "../../../test/assert.ts";
import { parseSshdConfig } from "./sshd_config.ts";

const lines = (text: string) =>
  parseSshdConfig(text).entries.map((d) =>
    [d.line, d.keyword, d.args, d.match, d.shadowed ?? null] as const
  );

Deno.test("sshd_config: keywords, `=`, quotes, escapes, comments and form feeds", () => {
  assertEquals(
    lines([
      "# comment",
      "  PermitRootLogin yes",
      "PasswordAuthentication=no",
      "PermitEmptyPasswords = no",
      'Banner "/etc/issue net" # trailing comment',
      "AuthorizedKeysFile .ssh/a\\ b 'c d'\f",
      "\tport 22\r",
      "   #PermitRootLogin no",
      "permitrootlogin no",
    ].join("\n")),
    [
      [2, "permitrootlogin", ["yes"], "", null],
      [3, "passwordauthentication", ["no"], "", null],
      [4, "permitemptypasswords", ["no"], "", null],
      [5, "banner", ["/etc/issue net"], "", null],
      [6, "authorizedkeysfile", [".ssh/a b", "c d"], "", null],
      [7, "port", ["22"], "", null],
      // sshd keeps the first value: this line has no effect.
      [9, "permitrootlogin", ["no"], "", 2],
    ],
  );
});

Deno.test("sshd_config: Match blocks hold to the next Match; includes are watched", () => {
  const r = parseSshdConfig(
    [
      "Include /etc/ssh/sshd_config.d/*.conf",
      "Include extra.conf",
      "Match User bob",
      "  PermitRootLogin yes",
      "  PasswordAuthentication yes",
      "Match all",
      "  PasswordAuthentication no",
    ].join("\n"),
  );
  assertEquals(r.entries.map((d) => [d.keyword, d.match, d.shadowed ?? null]), [
    ["include", "", null],
    ["include", "", null],
    ["match", "", null],
    ["permitrootlogin", "User bob", null],
    ["passwordauthentication", "User bob", null],
    ["match", "", null],
    ["passwordauthentication", "all", null],
  ]);
  assertEquals(r.includes, [
    { path: "/etc/ssh/sshd_config.d", dir: true, include: ["*.conf"] },
    { path: "/etc/ssh/extra.conf", dir: false },
  ]);
});

Deno.test("sshd_config: lines sshd refuses are errors, not settings", () => {
  const r = parseSshdConfig('PermitRootLogin\nBanner "open\nPort 22\n');
  assertEquals(r.entries.map((d) => d.keyword), ["port"]);
  assertEquals(r.errors.map((e) => e.line), [1, 2]);
});

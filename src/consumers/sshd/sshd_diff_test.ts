import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { parseSshdConfig } from "./sshd_config.ts";
import { diffSshd } from "./sshd_diff.ts";

const diff = (a: string, b: string) =>
  diffSshd(parseSshdConfig(a).entries, parseSshdConfig(b).entries, "/etc/ssh/sshd_config");
const weakens = (a: string, b: string) =>
  diff(a, b).map((c) => [c.action, c.changes?.find((x) => x.field === "weakens")?.to ?? null]);

const BASE = "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n";

Deno.test("sshd: a setting that opens a way in is critical; a harmless one is not", () => {
  const out = diff(BASE, `${BASE}PermitRootLogin yes\n`);
  assertEquals(out[0].message, "sshd setting added: permitrootlogin yes");
  assertEquals(changeSeverity(out[0]), "critical");
  for (
    const [line, label] of [
      ["PasswordAuthentication yes", "passwordauthentication yes"],
      ["PermitEmptyPasswords yes", "permitemptypasswords yes"],
      ["StrictModes no", "strictmodes no"],
      ["PermitUserEnvironment yes", "permituserenvironment yes"],
      ["AuthorizedKeysFile /tmp/%u", "authorizedkeysfile /tmp/%u"],
      ["AuthorizedKeysCommand /usr/local/bin/keys", "authorizedkeyscommand /usr/local/bin/keys"],
      ["TrustedUserCAKeys /etc/ssh/ca.pub", "trustedusercakeys /etc/ssh/ca.pub"],
      ["LogLevel QUIET", "loglevel QUIET"],
      ["Match User bob\n  PermitRootLogin yes", "permitrootlogin yes (Match User bob)"],
      ["ChallengeResponseAuthentication yes", "challengeresponseauthentication yes"],
    ]
  ) {
    const w = weakens(BASE, `${BASE}${line}\n`).find((x) => x[1] !== null);
    assertEquals(w?.[1], [label], line);
  }
  for (
    const line of [
      "PermitRootLogin prohibit-password",
      "PermitRootLogin no",
      "PasswordAuthentication no",
      "AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2",
      "AuthorizedKeysCommand none",
      "X11Forwarding no",
    ]
  ) {
    const out = diff(BASE, `${BASE}${line}\n`);
    assertEquals(changeSeverity(out[0]), "medium", line);
  }
});

Deno.test("sshd: removing a line stricter than sshd's default opens a way in", () => {
  const strict = `${BASE}PermitRootLogin no\nPasswordAuthentication no\nDenyUsers guest\n`;
  assertEquals(weakens(strict, BASE), [
    ["sshd_setting_removed", ["permitrootlogin no removed (default: prohibit-password)"]],
    ["sshd_setting_removed", ["passwordauthentication no removed (default: yes)"]],
    ["sshd_setting_removed", ["denyusers guest removed"]],
  ]);
  // KbdInteractiveAuthentication no removed: the default (yes) comes back.
  assertEquals(weakens(BASE, "UsePAM yes\n")[0], [
    "sshd_setting_removed",
    ["kbdinteractiveauthentication no removed (default: yes)"],
  ]);
});

Deno.test("sshd: a changed value, a shadowed line, and allow lists", () => {
  assertEquals(weakens("PermitRootLogin no\n", "PermitRootLogin yes\n"), [
    ["sshd_setting_changed", ["permitrootlogin yes"]],
  ]);
  // A later line has no effect while an earlier one sets the keyword; taking that one away does.
  const shadowed = "PermitRootLogin no\nPermitRootLogin yes\n";
  assertEquals(weakens("PermitRootLogin no\n", shadowed), [["sshd_setting_added", null]]);
  assertEquals(
    diff("PermitRootLogin no\n", shadowed)[0].message,
    "sshd setting added: permitrootlogin yes (no effect: line 1 sets it first)",
  );
  assertEquals(weakens(shadowed, "\nPermitRootLogin yes\n"), [
    ["sshd_setting_changed", ["permitrootlogin yes"]],
    ["sshd_setting_removed", null],
  ]);
  // The first AllowUsers narrows; another one, or a name added, widens; the last one removed too.
  assertEquals(weakens(BASE, `${BASE}AllowUsers alice\n`), [["sshd_setting_added", null]]);
  const allow = `${BASE}AllowUsers alice\n`;
  assertEquals(weakens(allow, `${allow}AllowUsers mallory\n`), [
    ["sshd_setting_added", ["allowusers mallory added"]],
  ]);
  assertEquals(weakens(allow, allow.replace("alice", "alice mallory")), [
    ["sshd_setting_changed", ["allowusers alice mallory: mallory added"]],
  ]);
  assertEquals(weakens(allow.replace("alice", "alice bob"), allow), [[
    "sshd_setting_changed",
    null,
  ]]);
  assertEquals(weakens(allow, BASE), [["sshd_setting_removed", ["allowusers alice removed"]]]);
});

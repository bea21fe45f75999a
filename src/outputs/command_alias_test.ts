import { assert } from "../../test/assert.ts";
import { CommandAliases } from "./command_alias.ts";

Deno.test("a command linked to the program is its honest name; any other is not", () => {
  const dash = Deno.realPathSync("/usr/bin/dash");
  const a = new CommandAliases();
  // Debian's /bin/sh is a link to dash: `sh` names dash, by full path or by file name alone.
  assert(Deno.realPathSync("/usr/bin/sh") === dash, "this test needs sh linked to dash");
  assert(a.names("sh", "/usr/bin/dash"));
  assert(a.names("sh", "dash"));
  assert(a.names("dash", "/usr/bin/dash"));
  // A name the kernel cut to 15 characters.
  assert(a.names("systemd-tmpfile", "/usr/bin/systemd-tmpfiles"));
  // A shell that called itself dpkg, or bash.
  assert(!a.names("dpkg", "/usr/bin/dash"));
  assert(!a.names("bash", "/usr/bin/dash"));
  assert(!a.names("dpkg", "dash"));
});

Deno.test("a process name is never a path to look up", () => {
  const asked: string[] = [];
  const a = new CommandAliases((p) => {
    asked.push(p);
    return "/usr/bin/dash";
  });
  for (const name of ["../bin/sh", "a/b", ".", "..", "x\0y", ""]) {
    assert(!a.names(name, "/usr/bin/dash"), name);
  }
  assert(asked.length === 0, asked.join(" "));
});

Deno.test("the names remembered are bounded, however many a process takes", () => {
  let looked = 0;
  const a = new CommandAliases(() => {
    looked++;
    return undefined;
  });
  for (let i = 0; i < 10_000; i++) a.names(`n${i}`, "/usr/bin/dash");
  looked = 0;
  // The first names were forgotten (looked up again); the last are remembered.
  a.names("n0", "/usr/bin/dash");
  assert(looked > 0);
  looked = 0;
  a.names("n9999", "/usr/bin/dash");
  assert(looked === 0);
});

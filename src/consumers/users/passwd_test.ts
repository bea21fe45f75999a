import { assert, assertEquals } from "../../../test/assert.ts";
import { cpuClock } from "../../../test/cpu_clock.ts";
import { parsePasswd } from "./passwd.ts";

const fp = (s: string) => `fp${s.length}`;

Deno.test("passwd: reads every field of an account", () => {
  const r = parsePasswd("alice:x:1000:100:Alice Liddell,,,:/home/alice:/bin/bash\n", fp);
  assertEquals(r.errors, []);
  assertEquals(r.entries, [{
    name: "alice",
    password: { state: "shadowed" },
    uid: 1000,
    gid: 100,
    gecos: "Alice Liddell,,,",
    home: "/home/alice",
    shell: "/bin/bash",
    line: 1,
  }]);
});

Deno.test("passwd: comments and blank lines are not accounts; +name lines are (files backend)", () => {
  const r = parsePasswd(
    "# comment\n\n  \t# indented comment\n+@netgroup\n-bob::::::\nroot:x:0:0:root:/root:/bin/sh\n",
    fp,
  );
  assertEquals(r.entries.map((e) => [e.name, e.uid, e.line]), [
    ["+@netgroup", 0, 4],
    ["-bob", 0, 5],
    ["root", 0, 6],
  ]);
});

Deno.test("passwd: every form glibc accepts gives the account (getpwnam gives uid 0 for each)", () => {
  const r = parsePasswd(
    [
      "sp:x: 0:0::/root:/bin/bash",
      "plus:x:+0:0::/root:/bin/bash",
      "ta\tb:x:0:0::/root:/bin/bash",
      "four:x:0:0",
      "   lead:x:0:0::/:/bin/sh",
      "minus0:x:-0:0::/:/bin/sh",
      "colon:x:0:0::/:/bin/sh:extra",
      ":x:0:0::/:/bin/sh",
      "nul:x:0:0::/:/bin/sh\0ignored:rest",
      "big:x:-18446744073709551615:0::/:/bin/sh",
      "crlf:x:0:0::/:/bin/sh\r",
    ].join("\n"),
    fp,
  );
  assertEquals(r.entries.map((e) => [e.name, e.uid, e.shell]), [
    ["sp", 0, "/bin/bash"],
    ["plus", 0, "/bin/bash"],
    ["ta\tb", 0, "/bin/bash"],
    ["four", 0, ""],
    ["lead", 0, "/bin/sh"],
    ["minus0", 0, "/bin/sh"],
    ["colon", 0, "/bin/sh:extra"],
    ["", 0, "/bin/sh"],
    ["nul", 0, "/bin/sh"],
    ["big", 1, "/bin/sh"],
    ["crlf", 0, "/bin/sh\r"],
  ]);
});

Deno.test("passwd: lines glibc rejects are reported with their number and parsing goes on", () => {
  const r = parsePasswd(
    [
      "a:x:1:1::/:/bin/sh",
      "short:x:1",
      "b:x:abc:1::/:/bin/sh",
      "c:x:1:-5::/:/bin/sh",
      "d:x:4294967296:1::/:/bin/sh",
      "e:x:4294967295:1::/:/bin/sh",
      "f:x:1 :1::/:/bin/sh",
      "g:x::1::/:/bin/sh",
      "h:x:0x0:1::/:/bin/sh",
    ].join("\n"),
    fp,
  );
  assertEquals(r.entries.map((e) => e.name), ["a", "e"]);
  assertEquals(r.errors.map((e) => e.line), [2, 3, 4, 5, 7, 8, 9]);
});

Deno.test("passwd: error messages never quote the line", () => {
  const r = parsePasswd("bob:$6$SECRETSALT$SECRETHASHVALUE:1\n", fp);
  assertEquals(r.entries, []);
  assert(!JSON.stringify(r).includes("SECRET"), JSON.stringify(r));
});

Deno.test("passwd: a legacy hash in the password field is fingerprinted, not kept", () => {
  const r = parsePasswd("old:$1$abcdefgh$ijklmnopqrstuv:5:5::/:/bin/sh\n", fp);
  assertEquals(r.entries[0].password, { state: "set", fingerprint: "fp26" });
  assert(!JSON.stringify(r).includes("ijklmnop"));
});

Deno.test("passwd: an unusual but printable name is kept with a warning (uid 0 must be seen)", () => {
  const r = parsePasswd("r00t :x:0:0::/root:/bin/sh\n", fp);
  assertEquals(r.entries.map((e) => [e.name, e.uid]), [["r00t ", 0]]);
  assertEquals(r.errors.map((e) => e.message), ["passwd entry has an unusual name (kept)"]);
});

Deno.test("passwd: CRLF line ends (the CR stays in the shell, as for glibc) and no final newline", () => {
  const r = parsePasswd("a:x:1:1::/:/bin/sh\r\nb:x:2:2::/:/bin/zsh", fp);
  assertEquals(r.entries.map((e) => [e.name, e.shell]), [["a", "/bin/sh\r"], ["b", "/bin/zsh"]]);
});

Deno.test("passwd: a line of 100k colons and a 10 MB file stay fast", () => {
  const t0 = cpuClock();
  const r = parsePasswd(
    "a" + ":".repeat(100_000) + "\n" + "u:x:1:1::/:/bin/sh\n".repeat(500_000),
    fp,
  );
  assertEquals(r.entries.length, 500_000);
  assertEquals(r.errors.length, 1);
  assert(t0() < 5000);
});

Deno.test("passwd: no blind spot after a million blank lines or in a 100k-character line", () => {
  const r = parsePasswd(
    "\n".repeat(1_000_001) + "evil:x:0:0:" + "g".repeat(100_000) + ":/root:/bin/sh\n",
    fp,
  );
  assertEquals(r.entries.map((e) => [e.name, e.uid, e.line]), [["evil", 0, 1_000_002]]);
});

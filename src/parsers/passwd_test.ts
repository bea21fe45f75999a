import { assert, assertEquals } from "../../test/assert.ts";
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

Deno.test("passwd: comments, blank lines and NIS compat lines are not accounts", () => {
  const r = parsePasswd("# comment\n\n+@netgroup\n-bob::::::\nroot:x:0:0:root:/root:/bin/sh\n", fp);
  assertEquals(r.entries.map((e) => [e.name, e.line]), [["root", 5]]);
  assertEquals(r.errors, []);
});

Deno.test("passwd: malformed lines are reported with their number and parsing goes on", () => {
  const r = parsePasswd(
    [
      "a:x:1:1::/:/bin/sh",
      "short:x:1",
      "b:x:abc:1::/:/bin/sh",
      "c:x:1:-5::/:/bin/sh",
      "d:x:4294967296:1::/:/bin/sh",
      "e:x:4294967295:1::/:/bin/sh",
      ":x:1:1::/:/bin/sh",
      "f\u001b[2J:x:1:1::/:/bin/sh",
    ].join("\n"),
    fp,
  );
  assertEquals(r.entries.map((e) => e.name), ["a", "e"]);
  assertEquals(r.errors.map((e) => e.line), [2, 3, 4, 5, 7, 8]);
});

Deno.test("passwd: error messages never quote the line", () => {
  const r = parsePasswd("bob:$6$SECRETSALT$SECRETHASHVALUE:1:1\n", fp);
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

Deno.test("passwd: CRLF line ends and a missing final newline", () => {
  const r = parsePasswd("a:x:1:1::/:/bin/sh\r\nb:x:2:2::/:/bin/zsh", fp);
  assertEquals(r.entries.map((e) => [e.name, e.shell]), [["a", "/bin/sh"], ["b", "/bin/zsh"]]);
});

Deno.test("passwd: a line of 100k colons and a 10 MB file stay fast", () => {
  const t0 = performance.now();
  const r = parsePasswd(":".repeat(100_000) + "\n" + "u:x:1:1::/:/bin/sh\n".repeat(500_000), fp);
  assertEquals(r.entries.length, 500_000);
  assertEquals(r.errors.length, 1);
  assert(performance.now() - t0 < 5000);
});

Deno.test("passwd: no blind spot after a million blank lines or in a 100k-character line", () => {
  const r = parsePasswd(
    "\n".repeat(1_000_001) + "evil:x:0:0:" + "g".repeat(100_000) + ":/root:/bin/sh\n",
    fp,
  );
  assertEquals(r.entries.map((e) => [e.name, e.uid, e.line]), [["evil", 0, 1_000_002]]);
});

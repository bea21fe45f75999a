import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { consumerNameFor } from "../registry.ts";
import { diffEnvironment, environmentFiles, parseEnvironment } from "./environment_file.ts";
import { parsePamEnvConf } from "./pam_env_conf.ts";

/** A stand-in keyed fingerprint: a hash of the value that does not hold it. */
const fp = (s: string) => `hmac-${[...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7)}`;
const vars = (text: string) => parseEnvironment(text, fp);

Deno.test("environment: variables as pam_env reads /etc/environment", () => {
  assertEquals(consumerNameFor("/etc/environment"), "environment");
  assertEquals(
    vars(
      'A=1 # c\nexport B="two words"  \nC=x#y\n  D=\'q\'\n1E=n\nF-G=z\nexport\tH=t\nA=again\nI="a\'\nJ=a"\n',
    ).map((v) => [v.name, v.value, v.line]),
    [
      ["A", "again", 8],
      ["B", 'two words"  ', 2],
      ["C", "x", 3],
      ["D", "q", 4],
      ["1E", "n", 5],
      ["I", "a", 9],
      ["J", 'a"', 10],
    ],
  );
});

Deno.test("environment: a variable that steers code added is critical, with its file watched; a credential is never kept or shown", () => {
  const before = vars('LANG=C.UTF-8\nhttp_proxy="http://bob:s3cret@proxy:3128"\nAPI_TOKEN=abc\n');
  const after = vars(
    'LANG=C\nhttp_proxy="http://bob:n3w@proxy:3128"\nAPI_TOKEN=abd\nLD_PRELOAD=/tmp/.x.so:/usr/lib/libgood.so\n',
  );
  const d = diffEnvironment(before, after, "/etc/environment").map((c) => [
    c.action,
    changeSeverity(c),
    c.message,
  ]);
  assertEquals(d, [
    [
      "environment_variable_added",
      "critical",
      "every session pam_env sets up (root's too) now starts with LD_PRELOAD=/tmp/.x.so:/usr/lib/libgood.so",
    ],
    [
      "environment_variable_changed",
      "medium",
      "every session pam_env sets up (root's too) now starts with LANG=C (was C.UTF-8)",
    ],
    [
      "environment_variable_changed",
      "medium",
      "every session pam_env sets up (root's too) now starts with http_proxy=(value hidden) (was (value hidden))",
    ],
    [
      "environment_variable_changed",
      "medium",
      "every session pam_env sets up (root's too) now starts with API_TOKEN=(value hidden) (was (value hidden))",
    ],
  ]);
  for (const v of [...before, ...after]) {
    assertEquals([v.value.includes("s3cret"), v.value.includes("abc")], [false, false]);
  }
  assertEquals(environmentFiles(after).map((p) => [p.path, p.severity]), [
    ["/tmp/.x.so", "critical"],
    ["/usr/lib/libgood.so", "critical"],
  ]);
  // ld.so expands `$LIB`, never a glob: `*` is part of a library's name.
  assertEquals(
    environmentFiles(vars("LD_PRELOAD=/lib/$LIB/a.so /tmp/*.so\n")).map((p) => p.path),
    ["/tmp/*.so"],
  );
  assertEquals(
    diffEnvironment(after, before, "f").find((c) => c.subject === "LD_PRELOAD")?.action,
    "environment_variable_removed",
  );
});

Deno.test("environment: pam_env.conf's variables as pam_env reads them, in its own form", () => {
  assertEquals(consumerNameFor("/etc/security/pam_env.conf"), "environment");
  const conf = (text: string) => parsePamEnvConf(text, fp).map((v) => [v.name, v.value, v.line]);
  assertEquals(
    conf(
      [
        "# comment",
        "A DEFAULT=1",
        'B DEFAULT=x OVERRIDE="two words"',
        'C DEFAULT=""',
        "D DEFAULT=d OTHER=z",
        "  E DEFAULT=e",
        "F DEFAULT=f #c",
        "G DEFAULT=g \\",
        "",
        "  # between",
        " OVERRIDE=o",
        "A",
        "LD_PRELOAD OVERRIDE=${X}",
        "",
      ].join("\n"),
    ),
    [
      ["B", "two words", 3],
      ["C", "", 4],
      ["G", "o", 8],
      ["LD_PRELOAD", "${X}", 13],
    ],
  );
});

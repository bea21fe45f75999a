import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { consumerNameFor } from "../registry.ts";
import { diffNsswitch, nssLibraries, parseNsswitch } from "./nsswitch.ts";

const DEBIAN = [
  "# /etc/nsswitch.conf",
  "passwd:         files systemd",
  "group:          files systemd",
  "shadow:         files systemd",
  "hosts:          files dns",
  "netgroup:       nis",
].join("\n");

Deno.test("nss: the services of each database, as glibc reads nsswitch.conf", () => {
  assertEquals(consumerNameFor("/etc/nsswitch.conf"), "nss");
  const r = parseNsswitch(
    DEBIAN + "\nhosts: files [ !UNAVAIL = return ] mdns4_minimal # not a comment\nnot-a-line\n" +
      "sudoers files\tsss\n  #passwd: files evil\npasswd:: files\0 evil\n",
  );
  assertEquals(r.databases.map((d) => [d.database, d.services, d.line]), [
    ["group", ["files", "systemd"], 3],
    ["shadow", ["files", "systemd"], 4],
    ["netgroup", ["nis"], 6],
    // Named again: the later line stands; `#` comments out only a line it starts.
    ["hosts", ["files", "mdns4_minimal", "#", "not", "a", "comment"], 7],
    ["sudoers", ["files", "sss"], 9],
    // Colons and blanks between the name and the services; a NUL ends the line.
    ["passwd", ["files"], 11],
  ]);
  assertEquals(r.unusable, undefined);
  // A criterion glibc cannot read makes it give up on the file: nothing is loaded.
  assertEquals(parseNsswitch("passwd: files evil [x]\n"), { databases: [], unusable: 1 });
  // Not for a database glibc does not look up.
  assertEquals(parseNsswitch("sudoers: sss [x]\n").unusable, undefined);
});

Deno.test("nss: a service a database gains loads a library into every program that looks it up: critical", () => {
  const d = (text: string) =>
    diffNsswitch(
      parseNsswitch(DEBIAN).databases,
      parseNsswitch(text).databases,
      "/etc/nsswitch.conf",
    ).map((c) => [
      c.action,
      changeSeverity(c),
      c.message,
    ]);
  assertEquals(d(DEBIAN.replace("passwd:         files systemd", "passwd: files systemd evil")), [[
    "nss_service_added",
    "critical",
    "passwd is now looked up through evil (libnss_evil.so.2, loaded into each program that does)",
  ]]);
  // glibc's own services load nothing; a service dropped is medium.
  assertEquals(
    d(
      DEBIAN.replace("netgroup:       nis", "netgroup: files").replace(
        "hosts:          files dns",
        "hosts: files",
      ),
    ),
    [
      ["nss_service_added", "high", "netgroup is now looked up through files"],
      ["nss_service_removed", "medium", "hosts is no longer looked up through dns"],
      ["nss_service_removed", "medium", "netgroup is no longer looked up through nis"],
    ],
  );
  assertEquals(d(`${DEBIAN}\n# passwd: files evil\n`), []);
});

Deno.test("nss: the libraries the services load are watched where the loader finds them", () => {
  const libs = nssLibraries(
    parseNsswitch("passwd: files systemd\nhosts: files dns ../x\n").databases,
  );
  const arch = Deno.build.arch === "aarch64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  assertEquals(libs.map((l) => [l.path, l.severity]), [
    [`/usr/local/lib/${arch}/libnss_systemd.so.2`, "critical"],
    ["/usr/local/lib/libnss_systemd.so.2", "critical"],
    [`/lib/${arch}/libnss_systemd.so.2`, "critical"],
    [`/usr/lib/${arch}/libnss_systemd.so.2`, "critical"],
    ["/lib/libnss_systemd.so.2", "critical"],
    ["/usr/lib/libnss_systemd.so.2", "critical"],
  ]);
});

import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { consumerNameFor } from "../registry.ts";
import { diffSudoConf, parseSudoConf, pluginFiles, sudoConfFiles } from "./sudo_conf.ts";

const DEBIAN = "# Default /etc/sudo.conf file\n#Plugin sudoers_policy sudoers.so\n" +
  "#Path noexec /usr/libexec/sudo/sudo_noexec.so\nSet disable_coredump true\n";

Deno.test("sudo.conf: directives in any case, the later line of one standing", () => {
  assertEquals(consumerNameFor("/etc/sudo.conf"), "sudo_conf");
  const ds = parseSudoConf(
    DEBIAN + "plugin sudoers_policy /opt/p.so a=1\nPATH NOEXEC /x.so\nPath noexec /y.so\n",
  );
  assertEquals(ds.map((d) => [d.key, d.value, d.line]), [
    ["Set disable_coredump", "true", 4],
    ["Plugin sudoers_policy", "/opt/p.so a=1", 5],
    ["Path noexec", "/y.so", 7],
  ]);
  assertEquals(
    [...pluginFiles(parseSudoConf("Plugin a x.so\nPath plugin_dir /opt/pd/\nPlugin b /b.so\n"))],
    [["a", "/opt/pd/x.so"], ["b", "/b.so"]],
  );
  // sudo runs the directory and the name together: no `/` is added.
  assertEquals(
    pluginFiles(parseSudoConf("Plugin a x.so\nPath plugin_dir /opt/pd\n")).get("a"),
    "/opt/pdx.so",
  );
});

Deno.test("sudo.conf: a plugin or a preloaded library added is critical, and watched", () => {
  const d = (text: string) =>
    diffSudoConf(parseSudoConf(DEBIAN), parseSudoConf(text), "/etc/sudo.conf").map((c) => [
      c.action,
      changeSeverity(c),
      c.message,
    ]);
  assertEquals(d(`${DEBIAN}Plugin sudoers_policy /tmp/.p.so\n`), [[
    "sudo_conf_added",
    "critical",
    "sudo, as root, loads the plugin: Plugin sudoers_policy /tmp/.p.so",
  ]]);
  assertEquals(
    d(`${DEBIAN}Path intercept /tmp/.i.so\nSet developer_mode true\n`).map((c) => c[1]),
    [
      "critical",
      "critical",
    ],
  );
  assertEquals(d(DEBIAN.replace("disable_coredump true", "disable_coredump false")), [[
    "sudo_conf_changed",
    "medium",
    "sudo's setting: Set disable_coredump false (was true)",
  ]]);
  assertEquals(
    sudoConfFiles(
      parseSudoConf("Plugin sudoers_policy sudoers.so\nPath sesh /opt/sesh\nPath askpass /x\n"),
    )
      .map((p) => [p.path, p.severity]),
    [["/usr/libexec/sudo/sudoers.so", "critical"], ["/opt/sesh", "critical"]],
  );
  // sudo expands nothing: a plugin named with `*` is that file.
  assertEquals(
    sudoConfFiles(parseSudoConf("Plugin p /opt/*.so\n")).map((p) => p.path),
    ["/opt/*.so"],
  );
});

import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity, type SemanticChange } from "../semantic_change.ts";
import { parseUnitFile } from "./unit_file.ts";
import { diffUnit } from "./unit_diff.ts";
import { unitPrograms } from "./unit_programs.ts";
import { systemdConsumer } from "./systemd_consumer.ts";
import { consumerContext } from "../consumer_context.ts";

const UNIT = [
  "# a comment",
  "[Unit]",
  "Description=App",
  "",
  "[Service]",
  "  ; another comment",
  "EnvironmentFile=-/etc/default/app",
  "ExecStartPre=-/usr/bin/sh -c 'cd /srv/app && ./prep.sh'",
  "ExecStart = /opt/app/bin/server \\",
  "# a comment inside the continued line",
  "  --port 80",
  "ExecReload=+/opt/app/bin/reload",
  "not a setting",
  "[Install]",
  "WantedBy=multi-user.target",
].join("\n");

Deno.test("systemd: sections, settings, comments and continued lines, as systemd reads them", () => {
  const r = parseUnitFile(UNIT);
  assertEquals(r.entries.map((s) => [s.section, s.key, s.value, s.line]), [
    ["Unit", "Description", "App", 3],
    ["Service", "EnvironmentFile", "-/etc/default/app", 7],
    ["Service", "ExecStartPre", "-/usr/bin/sh -c 'cd /srv/app && ./prep.sh'", 8],
    ["Service", "ExecStart", "/opt/app/bin/server  --port 80", 9],
    ["Service", "ExecReload", "+/opt/app/bin/reload", 12],
    ["Install", "WantedBy", "multi-user.target", 15],
  ]);
  assertEquals(r.errors.map((e) => e.line), [13]);
});

Deno.test("systemd: a command added is code the unit runs, critical as root", () => {
  const base = parseUnitFile("[Service]\nExecStart=/opt/app/server\n").entries;
  const d = (text: string) =>
    diffUnit(base, parseUnitFile(text).entries, "/etc/systemd/system/app.service")
      .map((c) => [c.action, changeSeverity(c), c.message]);
  assertEquals(d("[Service]\nExecStart=/opt/app/server\nExecStartPost=/tmp/.x\n"), [[
    "systemd_exec_added",
    "critical",
    "systemd unit runs as root: ExecStartPost=/tmp/.x",
  ]]);
  // As another user: high; a `+` command runs as root whatever User= says.
  assertEquals(
    d("[Service]\nUser=app\nExecStart=/opt/app/server\nExecStartPost=/tmp/.x\nExecStopPost=+/tmp/.y\n")
      .map(([a, s]) => [a, s]),
    // The most severe first.
    [
      ["systemd_exec_added", "critical"],
      ["systemd_setting_added", "high"],
      ["systemd_exec_added", "high"],
    ],
  );
  assertEquals(d("[Service]\nExecStart=/opt/app/server\nEnvironment=LD_PRELOAD=/tmp/x.so\n"), [[
    "systemd_setting_added",
    "high",
    "systemd setting added: [Service] Environment=LD_PRELOAD=/tmp/x.so",
  ]]);
  assertEquals(d("[Service]\n").map(([a, s]) => [a, s]), [["systemd_setting_removed", "medium"]]);
});

Deno.test("systemd: the programs and environment files a unit names are watched, critical as root", () => {
  const programs = (text: string) =>
    unitPrograms(parseUnitFile(text).entries).map((p) => [p.path, p.severity]);
  assertEquals(programs(UNIT), [
    ["/etc/default/app", "critical"],
    ["/srv/app/prep.sh", "critical"],
    ["/opt/app/bin/server", "critical"],
    ["/opt/app/bin/reload", "critical"],
  ]);
  assertEquals(
    programs("[Service]\nDynamicUser=yes\nExecStart=/opt/a %i\nExecStartPre=+/opt/b\n"),
    [["/opt/a", "high"], ["/opt/b", "critical"]],
  );
  // A bare name is looked up where systemd looks: a local directory comes first.
  assertEquals(programs("[Service]\nUser=app\nExecStart=backup --full\n"), [
    ["/usr/local/sbin/backup", "high"],
    ["/usr/local/bin/backup", "high"],
  ]);
  // A specifier is not expanded: not followed.
  assertEquals(programs("[Service]\nExecStart=/opt/%i/run\nEnvironmentFile=/etc/%i.env\n"), []);
});

Deno.test("systemd: a drop-in's command runs as whom its unit's file says", () => {
  const files = new Map([
    ["/etc/systemd/system/web.service", "[Service]\nUser=www-data\nExecStart=/srv/web\n"],
    ["/usr/lib/systemd/system/db.service", "[Service]\nExecStart=/srv/db\n"],
  ]);
  const ctx = {
    ...consumerContext(new Uint8Array(32), () => {}),
    readFile: (p: string) => files.get(p),
  };
  const added = (path: string, text: string) =>
    systemdConsumer.diff(path, [], parseUnitFile(text).entries, ctx)
      .map((c) => [c.action, changeSeverity(c as SemanticChange)]);
  const post = "[Service]\nExecStartPost=/tmp/.x\n";
  assertEquals(added("/etc/systemd/system/web.service.d/x.conf", post), [
    ["systemd_exec_added", "high"],
  ]);
  // A vendor unit, overridden from /etc: root. A drop-in that empties User= makes it root again.
  assertEquals(added("/etc/systemd/system/db.service.d/x.conf", post), [
    ["systemd_exec_added", "critical"],
  ]);
  assertEquals(added("/etc/systemd/system/web.service.d/x.conf", "[Service]\nUser=\n" + post), [
    ["systemd_exec_added", "critical"],
    ["systemd_setting_added", "high"],
  ]);
  // No unit file found: root, the cautious side.
  assertEquals(added("/etc/systemd/system/gone.service.d/x.conf", post), [
    ["systemd_exec_added", "critical"],
  ]);
});

Deno.test("systemd: a unit's commands run as whom its file and drop-ins say, the last User= of them in systemd's order", () => {
  const files = new Map([
    ["/usr/lib/systemd/system/web.service", "[Service]\nUser=www-data\nExecStart=/srv/web\n"],
    ["/usr/lib/systemd/system/web.service.d/10-root.conf", "[Service]\nUser=root\n"],
    ["/usr/lib/systemd/system/app.service", "[Service]\nExecStart=/srv/app\n"],
    ["/usr/lib/systemd/system/app.service.d/10-user.conf", "[Service]\nUser=app\n"],
    ["/etc/systemd/system/app.service.d/20-root.conf", "[Service]\nUser=root\n"],
    ["/usr/lib/systemd/system/app.service.d/30-back.conf", "[Service]\nUser=app\n"],
  ]);
  const ctx = {
    ...consumerContext(new Uint8Array(32), () => {}),
    readFile: (p: string) => files.get(p),
    readDir: (d: string) =>
      [...files.keys()].filter((p) => p.startsWith(`${d}/`)).map((p) => p.slice(d.length + 1)),
  };
  const added = (path: string, text: string, before = "") =>
    systemdConsumer.diff(
      path,
      parseUnitFile(before).entries,
      parseUnitFile(text).entries,
      ctx,
    ).map((c) => [c.action, changeSeverity(c as SemanticChange)]);
  const post = "ExecStartPost=/tmp/.x\n";
  // The unit's file says www-data, its drop-in root: root runs what is added to the file.
  const web = files.get("/usr/lib/systemd/system/web.service")!;
  assertEquals(added("/usr/lib/systemd/system/web.service", web + post, web), [
    ["systemd_exec_added", "critical"],
  ]);
  // The file says root (no User=), the drop-ins app, root, app by name: app.
  const app = files.get("/usr/lib/systemd/system/app.service")!;
  assertEquals(added("/usr/lib/systemd/system/app.service", app + post, app), [
    ["systemd_exec_added", "high"],
  ]);
  // A drop-in changed is read as it is now, in its place: 30-back.conf emptied, root is last.
  assertEquals(added("/usr/lib/systemd/system/app.service.d/30-back.conf", `[Service]\n${post}`), [
    ["systemd_exec_added", "critical"],
  ]);
  // The programs watched with the unit are root's too: from its file, and from the drop-in.
  const programs = (path: string) =>
    systemdConsumer.watchAlso!(parseUnitFile(files.get(path)!).entries, path, ctx)
      .map((p) => [p.path, p.severity]);
  assertEquals(programs("/usr/lib/systemd/system/web.service"), [["/srv/web", "critical"]]);
  assertEquals(programs("/usr/lib/systemd/system/web.service.d/10-root.conf"), [
    ["/srv/web", "critical"],
  ]);
  // A drop-in of a name /etc has too is the one in /etc (the first directory's).
  files.set("/etc/systemd/system/app.service.d/30-back.conf", "[Service]\n");
  assertEquals(added("/usr/lib/systemd/system/app.service", app + post, app), [
    ["systemd_exec_added", "critical"],
  ]);
});

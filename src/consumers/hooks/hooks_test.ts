import { assert, assertEquals } from "../../../test/assert.ts";
import { rng } from "../../../test/rng.ts";
import { changeSeverity } from "../semantic_change.ts";
import { consumerNameFor } from "../registry.ts";
import { diffHooks, type HookCommand, hookPrograms } from "./hook_consumer.ts";
import { APT, aptHooks, isHook } from "./apt_hooks.ts";
import { UDEV, udevCommands } from "./udev_rules.ts";
import { MODPROBE, modprobeCommands } from "./modprobe_commands.ts";
import { LOGROTATE, logrotateScripts } from "./logrotate_scripts.ts";

const settings = (cs: HookCommand[]) => cs.map((c) => [c.line, c.setting, c.command]);

Deno.test("hooks: which files are read for the commands root runs", () => {
  assertEquals(consumerNameFor("/etc/udev/rules.d/99-x.rules"), "udev");
  assertEquals(consumerNameFor("/usr/lib/udev/rules.d/60-block.rules"), "udev");
  assertEquals(consumerNameFor("/etc/polkit-1/rules.d/50-x.rules"), "generic");
  assertEquals(consumerNameFor("/etc/udev/rules.d/README"), "generic");
  assertEquals(consumerNameFor("/etc/apt/apt.conf"), "apt");
  assertEquals(consumerNameFor("/etc/apt/apt.conf.d/20packagekit"), "apt");
  assertEquals(consumerNameFor("/etc/apt/apt.conf.d/50x.conf"), "apt");
  // apt ignores a name with another extension, or a character outside its set.
  assertEquals(consumerNameFor("/etc/apt/apt.conf.d/20packagekit.bak"), "generic");
  assertEquals(consumerNameFor("/etc/apt/apt.conf.d/x~"), "generic");
  assertEquals(consumerNameFor("/etc/modprobe.d/blacklist.conf"), "modprobe");
  assertEquals(consumerNameFor("/etc/modprobe.d/README"), "generic");
});

Deno.test("udev: RUN, PROGRAM and IMPORT{program} run programs; builtins and matches do not", () => {
  const r = udevCommands([
    "# a comment",
    'ACTION=="add", ENV{MAJOR}=="1", ENV{MINOR}=="8", RUN+="/bin/sh -c \'/lib/x.sh &\'"',
    'SUBSYSTEM=="net", PROGRAM=="/opt/net/name %k", NAME="%c"',
    'KERNEL=="sd*", IMPORT{program}="scsi_id --export $devnode", \\',
    '  RUN{builtin}+="kmod load $env{MODALIAS}"',
    'RUN{program}:="/usr/local/bin/hook \\"$kernel\\""',
    "not a rule",
    'RUN-="/opt/removed"',
  ].join("\n"));
  assertEquals(settings(r.entries), [
    [2, `RUN+="/bin/sh -c '/lib/x.sh &'"`, "/bin/sh -c '/lib/x.sh &'"],
    [3, 'PROGRAM=="/opt/net/name %k"', "/opt/net/name %k"],
    [4, 'IMPORT{program}="scsi_id --export $devnode"', "scsi_id --export $devnode"],
    [6, 'RUN{program}:="/usr/local/bin/hook \\"$kernel\\""', '/usr/local/bin/hook "$kernel"'],
  ]);
  assertEquals(r.errors.map((e) => e.line), [7]);
  // A bare name is udev's own program: looked up in udev's directory.
  assertEquals(hookPrograms(UDEV, r.entries).map((p) => [p.path, p.severity]), [
    ["/lib/x.sh", "critical"],
    ["/opt/net/name", "critical"],
    ["/usr/lib/udev/scsi_id", "critical"],
    ["/lib/udev/scsi_id", "critical"],
    ["/usr/local/bin/hook", "critical"],
  ]);
});

Deno.test("udev: a rule added that runs a program is critical, one removed medium", () => {
  const before = udevCommands('KERNEL=="sda", RUN+="/opt/a"\n').entries;
  const after = udevCommands('KERNEL=="sda", RUN+="/opt/a"\nACTION=="add", RUN+="/tmp/.x"\n')
    .entries;
  const d = (a: HookCommand[], b: HookCommand[]) =>
    diffHooks(UDEV, a, b, "/etc/udev/rules.d/99-x.rules").map((
      c,
    ) => [c.action, changeSeverity(c), c.message, c.source?.line]);
  assertEquals(d(before, after), [[
    "udev_command_added",
    "critical",
    'udev runs as root at each device event the rule matches: RUN+="/tmp/.x"',
    2,
  ]]);
  assertEquals(d(after, before).map((c) => c.slice(0, 2)), [["udev_command_removed", "medium"]]);
  // Moved to another line, or another rule's matches changed: the same command, nothing to say.
  assertEquals(d(after, [...after].reverse()), []);
});

Deno.test("apt: the hooks apt runs, as apt reads its configuration", () => {
  const r = aptHooks([
    "// This file informs PackageKit",
    'DPkg::Post-Invoke {\n"/usr/bin/test -e /x && /opt/pk/notify";\n};',
    'APT { Update { Post-Invoke-Success { "/opt/y"; "z"; }; }; };',
    'DPkg::Pre-Install-Pkgs:: "/opt/preconf --apt";',
    '# comment\n/* block\ncomment */ dpkg::pre-invoke::named "/opt/q";',
    'DPkg::Pre-Invoke "not run: a value of the hook itself";',
    'APT::Periodic::Update-Package-Lists "1";',
    'Dir::Cache::pkgcache "";',
    'Dir::Bin "usr/bin/"; Dir::Bin::dpkg "/opt/fake-dpkg";',
  ].join("\n"));
  assertEquals(settings(r.entries), [
    [
      3,
      'DPkg::Post-Invoke:: "/usr/bin/test -e /x && /opt/pk/notify"',
      "/usr/bin/test -e /x && /opt/pk/notify",
    ],
    [5, 'APT::Update::Post-Invoke-Success:: "/opt/y"', "/opt/y"],
    [5, 'APT::Update::Post-Invoke-Success:: "z"', "z"],
    [6, 'DPkg::Pre-Install-Pkgs:: "/opt/preconf --apt"', "/opt/preconf --apt"],
    [9, 'dpkg::pre-invoke::named "/opt/q"', "/opt/q"],
    // The program apt runs in place of dpkg.
    [13, 'Dir::Bin::dpkg "/opt/fake-dpkg"', "/opt/fake-dpkg"],
  ]);
  assertEquals(r.errors, []);
  assertEquals(hookPrograms(APT, r.entries).map((p) => p.path), [
    "/opt/pk/notify",
    "/opt/y",
    "/usr/local/sbin/z",
    "/usr/local/bin/z",
    "/opt/preconf",
    "/opt/q",
    "/opt/fake-dpkg",
  ]);
});

Deno.test("modprobe: install and remove run their command through sh, as root", () => {
  const r = modprobeCommands([
    "# blacklist",
    "blacklist pcspkr",
    "install usb-storage /bin/true",
    "install dummy /usr/local/sbin/x.sh; /sbin/modprobe --ignore-install dummy",
    "remove dummy \\",
    "  /opt/cleanup",
    "options snd index=0",
    "install lonely",
  ].join("\n"));
  assertEquals(settings(r.entries), [
    [3, "install usb-storage /bin/true", "/bin/true"],
    [
      4,
      "install dummy /usr/local/sbin/x.sh; /sbin/modprobe --ignore-install dummy",
      "/usr/local/sbin/x.sh; /sbin/modprobe --ignore-install dummy",
    ],
    [5, "remove dummy /opt/cleanup", "/opt/cleanup"],
  ]);
  assertEquals(r.errors.map((e) => e.line), [8]);
  assertEquals(hookPrograms(MODPROBE, r.entries).map((p) => p.path), [
    "/usr/local/sbin/x.sh",
    "/opt/cleanup",
  ]);
});

Deno.test("logrotate: the lines of its scripts are commands root runs at each rotation", () => {
  assertEquals(consumerNameFor("/etc/logrotate.d/rsyslog"), "logrotate");
  assertEquals(consumerNameFor("/etc/logrotate.conf"), "logrotate");
  assertEquals(consumerNameFor("/etc/logrotate.d/rsyslog.dpkg-old"), "generic");
  const r = logrotateScripts([
    "/var/log/syslog",
    "{",
    "\trotate 4",
    "\tsharedscripts",
    "\tpostrotate",
    "\t\t/usr/lib/rsyslog/rsyslog-rotate",
    "\t\t# a comment",
    "\t\tif [ -x /opt/x ]; then /opt/x --hup; fi",
    "\tendscript",
    "}",
    "/var/log/a { firstaction",
    "  invoke-rc.d a reload",
  ].join("\n"));
  assertEquals(settings(r.entries), [
    [6, "postrotate: /usr/lib/rsyslog/rsyslog-rotate", "/usr/lib/rsyslog/rsyslog-rotate"],
    [
      8,
      "postrotate: if [ -x /opt/x ]; then /opt/x --hup; fi",
      "if [ -x /opt/x ]; then /opt/x --hup; fi",
    ],
  ]);
  // A script a later line opens: its lines, until the file ends, with the missing endscript said.
  assertEquals(logrotateScripts("x {\nfirstaction\n  /opt/y\n").entries.length, 1);
  assertEquals(logrotateScripts("x {\nfirstaction\n  /opt/y\n").errors.map((e) => e.line), [2]);
  assertEquals(hookPrograms(LOGROTATE, r.entries).map((p) => p.path), [
    "/usr/lib/rsyslog/rsyslog-rotate",
    "/opt/x",
  ]);
});

const aptConfig = await (async () => {
  try {
    return (await new Deno.Command("apt-config", { args: ["--version"] }).output()).success;
  } catch {
    return false;
  }
})();

/** The hook commands apt-config dumps with `file` read last (the host's own are left out by the caller). */
async function aptDump(file: string): Promise<string[]> {
  const out = await new Deno.Command("apt-config", { args: ["-c", file, "dump"] }).output();
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  const hooks: string[] = [];
  for (const l of lines) {
    const m = /^(\S+) "(.*)";$/s.exec(l);
    if (!m || !m[1].includes("::")) continue;
    const name = m[1];
    const parent = name.endsWith("::") ? name.slice(0, -2) : name.slice(0, name.lastIndexOf("::"));
    // Which options are hooks is isHook's: this test holds the reading of the syntax.
    if (isHook(parent) && m[2] !== "") {
      hooks.push(m[2]);
    }
  }
  return hooks;
}

Deno.test({
  name: "apt parity: bpfink finds the hooks apt-config finds, in random and mutated configurations",
  ignore: !aptConfig,
  fn: async () => {
    const seed = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
    const r = rng(seed);
    const dir = await Deno.makeTempDir({ prefix: "bpfink-apt-" });
    try {
      const empty = `${dir}/empty.conf`;
      await Deno.writeTextFile(empty, "");
      const host = await aptDump(empty);
      const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
      const names = [
        "DPkg::Post-Invoke",
        "APT::Update::Pre-Invoke",
        "dpkg::pre-install-pkgs",
        "APT::Periodic::x",
        "DPkg::Pre-Invoke::n",
        "Dir::Bin::dpkg",
        "Dir::Bin::solvers",
      ];
      const wrong: string[] = [];
      const cases = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 150);
      for (let i = 0; i < cases; i++) {
        const parts: string[] = [];
        for (let j = 0; j < 1 + Math.floor(r() * 4); j++) {
          const n = pick(names);
          const v = `/opt/h${i}-${j}`;
          parts.push(pick([
            `${n} { "${v}"; };`,
            `${n}:: "${v}";`,
            `${n} "${v}";`,
            `${n.split("::")[0]} { ${n.split("::").slice(1).join("::")} { "${v}"; }; };`,
            `// ${n} "${v}";`,
            `/* ${n}:: "${v}"; */`,
            `${n}::\n"${v}";`,
            `${n}::x "${v}"; ${n}::x "";`,
            `${n}::X "${v}"; ${n}::x "${v}b";`,
          ]));
        }
        const text = parts.join(pick(["\n", " ", "\n\n"]));
        const file = `${dir}/c${i}.conf`;
        await Deno.writeTextFile(file, text);
        const apt = await aptDump(file);
        // The file's own: what apt-config dumps beyond the host's.
        const left = [...host];
        const mine = apt.filter((h) => {
          const k = left.indexOf(h);
          if (k < 0) return true;
          left.splice(k, 1);
          return false;
        }).sort();
        const got = aptHooks(text).entries.map((e) => e.command).sort();
        if (JSON.stringify(got) !== JSON.stringify(mine)) {
          wrong.push(
            `${JSON.stringify(text)}: apt ${JSON.stringify(mine)}, bpfink ${JSON.stringify(got)}`,
          );
        }
      }
      assertEquals(wrong, [], `BPFINK_FUZZ_SEED=${seed}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("hooks: long and hostile files are read in linear time, within bounds", () => {
  const t0 = performance.now();
  const many = aptHooks('DPkg::Post-Invoke { "/opt/x"; };\n'.repeat(50_000));
  assertEquals(many.entries.length, 50_000);
  assert(hookPrograms(APT, many.entries).length <= 256);
  assertEquals(aptHooks("a { ".repeat(100_000)).errors.length, 1);
  assertEquals(udevCommands('RUN+="' + "\\x".repeat(200_000)).entries.length, 0);
  modprobeCommands("install a b \\\n".repeat(100_000));
  assert(performance.now() - t0 < 3_000, `${performance.now() - t0} ms`);
});

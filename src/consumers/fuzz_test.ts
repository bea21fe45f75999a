/**
 * Fuzzing the parsers and differs (their input is attacker-controlled):
 * random bytes and byte-level mutations of realistic files (deleted,
 * inserted, duplicated and flipped bytes, huge lines, thousands of
 * separators and continuations, shuffled lines), for a bounded time per
 * parser. Each run checks:
 * - no throw, and no single parse + diff taking more than 2 s of CPU plus
 *   5 ms per 1,000 input characters read (a linear budget: big inputs may
 *   take linear time, anything super-linear, which is seconds to hours on
 *   these sizes, blows it). CPU time, not wall time, so that other work on
 *   a loaded machine does not count;
 * - no password field ever appears in what bpfink stores (the parse) or
 *   emits (the diffs): fresh secrets are planted in the password position
 *   of every line after mutation, so the check holds whatever shape the
 *   mutation left, and every 8-character piece of each secret is searched;
 * - sudoers: random include graphs with self-includes, cycles, directories
 *   and a 300-deep chain stay bounded;
 * - line diff: the result is a real edit script (what is kept on both
 *   sides is equal as a sequence, or as a multiset for the fallback);
 * - ACL and xattr attributes: a raw ACL read as entries reads back the same
 *   from its text, an attribute's line is one line, and the value of an
 *   xattr of unknown meaning (a planted secret) is in no line or change.
 *
 * The seed is printed on failure. BPFINK_FUZZ_SEED replays a seed,
 * BPFINK_FUZZ_MS sets the time per parser (default 2000 ms).
 */
import { assert } from "../../test/assert.ts";
import { cpuClock } from "../../test/cpu_clock.ts";
import { parseAccessConf } from "./access/access_conf.ts";
import { parseGroupFile } from "./groups/group_file.ts";
import { parseGshadow } from "./groups/gshadow.ts";
import { diffLines } from "./line_diff.ts";
import { parsePasswd } from "./users/passwd.ts";
import { hmacFingerprint, parseShadow } from "./users/shadow.ts";
import { parseSudoers, type SudoersReader } from "./sudoers/sudoers.ts";
import { diffAccess } from "./access/access_diff.ts";
import { parseAuthorizedKeys } from "./ssh_keys/authorized_keys.ts";
import { diffSshKeys } from "./ssh_keys/ssh_keys_diff.ts";
import { type CronJob, type CronSetting, parseCrontab } from "./cron/crontab.ts";
import { diffCron } from "./cron/cron_diff.ts";
import { programsOf } from "./cron/cron_programs.ts";
import { MAX_PROGRAMS } from "./_command_programs.ts";
import { parseUnitFile, type UnitSetting } from "./systemd/unit_file.ts";
import { diffUnit } from "./systemd/unit_diff.ts";
import { unitPrograms } from "./systemd/unit_programs.ts";
import { diffShell, shellConsumer } from "./shell/shell_consumer.ts";
import { diffHooks, type HookCommand, hookPrograms } from "./hooks/hook_consumer.ts";
import { UDEV } from "./hooks/udev_rules.ts";
import { APT } from "./hooks/apt_hooks.ts";
import { MODPROBE } from "./hooks/modprobe_commands.ts";
import { LOGROTATE } from "./hooks/logrotate_scripts.ts";
import { diffNsswitch, type NssDatabase, nssLibraries, parseNsswitch } from "./nss/nsswitch.ts";
import {
  diffEnvironment,
  environmentFiles,
  parseEnvironment,
} from "./environment/environment_file.ts";
import {
  diffSysctl,
  parseSysctl,
  sysctlPrograms,
  type SysctlSetting,
} from "./sysctl/sysctl_conf.ts";
import type { EnvVariable } from "./environment/env_variable.ts";
import { parsePamEnvConf } from "./environment/pam_env_conf.ts";
import {
  diffSudoConf,
  parseSudoConf,
  sudoConfFiles,
  type SudoDirective,
} from "./sudo_conf/sudo_conf.ts";
import { parseSshdConfig } from "./sshd/sshd_config.ts";
import { diffSshd } from "./sshd/sshd_diff.ts";
import { preloadEntries } from "./preload/ld_so_preload.ts";
import { aclText, decodeAcl, parseAclText } from "../watch/posix_acl.ts";
import { flagsLine, xattrLine } from "../watch/extra_attrs.ts";
import { attrChanges, attrPhrases } from "../pipeline/attr_changes.ts";
import { diffPreload } from "./preload/preload_consumer.ts";
import { parsePamConf } from "./pam/pam_conf.ts";
import { authPassesWithoutPassword } from "./pam/pam_stack.ts";
import { diffPam } from "./pam/pam_diff.ts";
import { diffGroup, diffGshadow } from "./groups/groups_diff.ts";
import { diffSudoers } from "./sudoers/sudoers_diff.ts";
import { commandFilesOf } from "./sudoers/sudoers_commands.ts";
import { diffPasswd, diffShadow } from "./users/users_diff.ts";
import { type Rng, rng } from "../../test/rng.ts";
import type { Peers } from "./paired_consumer.ts";
import { decodePathBytes, displayPath } from "../watch/path_bytes.ts";
import { consumerNameFor, semanticConsumer } from "./registry.ts";
import { consumerContext } from "./consumer_context.ts";
import { boundedChanges, NOT_TEXT_ITEMIZED } from "./bounded_changes.ts";
import { MAX_ITEMIZED_CHANGES } from "./semantic_change.ts";

const MS = Number(Deno.env.get("BPFINK_FUZZ_MS") ?? 2000);
const SLOW_MS = 2000;
/** Inputs each fuzzer tries at the least. */
const MIN_RUNS = 20;
const BASE_SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

const fp = hmacFingerprint(new TextEncoder().encode("fuzz key"));

const SEEDS: Record<string, string> = {
  passwd: "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n" +
    "# comment\n+::::::\nold:$1$ab$cdefghijklmnopqrstuv:5:5::/:/bin/sh\n",
  shadow: "root:$6$s$h:19000:0:99999:7:::\nalice:!$6$s$h:19000::::::\nbob:*:1::::::\n" +
    "carol::19000:0:99999:7:30:20000:\n",
  group: "root:x:0:\nsudo:x:27:alice,bob\nadm:x:4:syslog, alice\n",
  gshadow: "sudo:$6$s$h:alice:bob\nadm:!::\nwheel:!!$6$x$y:carol,dave:erin\n",
  sudoers: "Defaults env_reset, !authenticate\nDefaults:bob !requiretty\n" +
    "User_Alias A = a, b : B = c\nCmnd_Alias C = sha256:abcd /bin/ls, /bin/cat\n" +
    "%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n" +
    "bob ALL=(ALL) NOPASSWD: ALL \\\n  , /bin/ls\n#include /etc/sudoers\n#1000 ALL=(#0) ALL\n" +
    "alice web1, ::1 = (root : wheel) TIMEOUT=5 NOEXEC: /bin/vi ^/etc/[a-z]+$ : db = ALL\n",
  access: "+ : root : LOCAL\n- : ALL EXCEPT root (wheel) : ALL\n+ : @ng : ::1 10.0.0.0/8\n",
  text: "line one\nline two\n\nkey = value\n# comment\nlast line\n",
  ssh_keys:
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICBsmtYkGqkfc41Jqq2xg8XSP5fQuFp9XCtzdbQGMwN4 a@b\n" +
    'from="10.0.0.1",command="echo \\"x\\"" ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAI' +
    "bmlzdHAyNTYAAABBBE+C0UWCsTh6WAAtduUbX/sYwWKVVyXyLw1hbWZnI68kRYxD6F2buTP/KT7XMa6bektv6a4KU+B/" +
    "Ab/Uwon3zoQ= e\n# comment\n",
  cron: 'SHELL=/bin/sh\nPATH = "/usr/bin"\n17 * * * * root cd / && run-parts x\n' +
    "@reboot root /boot.sh\n*/5 1-3 * jan,feb mon-fri www-data php %x%y\n" +
    "HOME=/srv\n@daily root cd /opt && nice -n 5 sh -c \"./a 2>&1 | '/b c'\" # x\n",
  sshd: "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin = no\nPasswordAuthentication no\n" +
    'Banner "/etc/a b"\nAllowUsers alice bob\nMatch User bob\n  PermitRootLogin yes\n',
  preload: "/usr/lib/a.so /b.so\t/c.so:/d.so\n# comment\n/e#f\n/last",
  systemd: "[Unit]\nDescription=x\n[Service]\nUser=app\nEnvironmentFile=-/etc/default/x\n" +
    "ExecStart=/opt/x/run \\\n  --flag\n; c\nExecStartPre=+/bin/sh -c 'cd /srv && ./a'\n[Install]\nWantedBy=m\n",
  shell: '# c\nexport PATH="/usr/local/bin:$PATH"\n. "$HOME/.cargo/env"\n[ -f ~/.a ] && . ~/.a\n' +
    "if [ -x /opt/x ]; then \\\n  /opt/x --y; fi\ncase $T in a*) cd /srv && ./b ;; esac\n",
  udev: 'ACTION=="add", KERNEL=="sd*", RUN+="/opt/x %k"\n# c\nSUBSYSTEM=="net", \\\n' +
    'PROGRAM=="/bin/sh -c \'cd /srv && ./n\'", IMPORT{program}="id --x", RUN{builtin}+="kmod"\n',
  apt:
    '// c\nDPkg::Post-Invoke { "test -x /opt/a && /opt/a"; };\nAPT { Update { Pre-Invoke:: "b"; }; };\n' +
    '/* x */ DPkg::Pre-Install-Pkgs::n "/usr/sbin/c --apt || true";\n#include x\n',
  logrotate: "/var/log/a /var/log/b {\n  weekly\n  postrotate\n    /usr/lib/x/rotate || true\n" +
    "    # c\n    cd /srv && ./hup\n  endscript\n}\ninclude /etc/logrotate.d\n",
  modprobe: "# c\nblacklist x\ninstall a /opt/a.sh; /sbin/modprobe --ignore-install a\n" +
    "remove b \\\n  cd /srv && ./b\noptions c x=1\n",
  nss: "# c\npasswd:         files systemd\ngroup: files [NOTFOUND=return] sss\n" +
    "hosts:  files mdns4_minimal [ !UNAVAIL = return ] dns\nsudoers files ldap\n",
  environment:
    'LANG=C.UTF-8\nexport PATH="/usr/local/bin:/usr/bin"\n# c\nLD_PRELOAD=/a.so:/b.so # x\n' +
    "  BASH_ENV='/etc/x'\nhttp_proxy=http://u:p@h:1\n" +
    'LD_AUDIT DEFAULT=/a.so OVERRIDE="${X}" \\\n  # c\n DEFAULT=""\nPATH OVERRIDE=@{HOME}/bin\n',
  sysctl: "# c\n; c\nvm.swappiness = 10\n-kernel/core_pattern = |/usr/lib/x %p %e\n" +
    "kernel.modprobe=/sbin/modprobe\nnet.ipv4.conf.eth0/1.rp_filter = 1\nkernel.yama.ptrace_scope=0\n",
  sudo_conf:
    "# c\nPlugin sudoers_policy sudoers.so\nPath noexec /usr/libexec/sudo/sudo_noexec.so\n" +
    "Path plugin_dir /opt/pd/\nSet disable_coredump false\nDebug sudo /var/log/sudo_debug all@warn\n",
  pam: "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n" +
    "auth required pam_permit.so\n@include common-auth\nauth substack x\n-session optional pam_systemd.so\n",
};

const PIECES = [
  ":",
  "\n",
  ",",
  "\\",
  "\\\n",
  "#",
  "@include ",
  "@includedir ",
  "#include ",
  "#includedir ",
  "=",
  "(",
  ")",
  "!",
  "$6$",
  " ",
  "\t",
  "\r\n",
  "\0",
  "é",
  "\u{1F600}",
  "ALL",
  "NOPASSWD:",
  "Defaults",
  "User_Alias X = ",
  '"',
  "%h",
  "../",
  "/etc/sudoers",
  "/etc/sudoers.d",
  "sha256:",
  "+",
  "-",
  "EXCEPT",
  "\xff",
  "\xc3",
];

/** UTF-8 bytes as a string of one character per byte, so mutations can break the encoding. */
const toBytes = (s: string) =>
  Array.from(new TextEncoder().encode(s), (b) => String.fromCharCode(b)).join("");
const fromBytes = (s: string) =>
  new TextDecoder().decode(Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff));

function mutateBytes(bytes: string, r: Rng): string {
  let s = bytes;
  const n = 1 + int(r, 8);
  for (let i = 0; i < n; i++) {
    const at = int(r, s.length + 1);
    switch (int(r, 10)) {
      case 0: // delete a span
        s = s.slice(0, at) + s.slice(at + int(r, 16));
        break;
      case 1: // insert a meaningful piece
        s = s.slice(0, at) + toBytes(pick(r, PIECES)) + s.slice(at);
        break;
      case 2: // duplicate a span
        s = s.slice(0, at) + s.slice(at, at + int(r, 64)).repeat(1 + int(r, 4)) + s.slice(at);
        break;
      case 3: // flip a byte
        s = s.slice(0, at) + String.fromCharCode(int(r, 256)) + s.slice(at + 1);
        break;
      case 4: // a huge line
        s = s.slice(0, at) + pick(r, ["x", "é", ",a", " "]).repeat(int(r, 100_000)) + s.slice(at);
        break;
      case 5: // many separators
        s = s.slice(0, at) + pick(r, [":", ",", "!", "(", "#"]).repeat(int(r, 5000)) + s.slice(at);
        break;
      case 6: // many continuations
        s = s.slice(0, at) + "a \\\n".repeat(int(r, 2000)) + s.slice(at);
        break;
      case 7: { // shuffle or repeat lines
        const lines = s.split("\n");
        for (let k = 0; k < 4; k++) lines.splice(int(r, lines.length), 0, pick(r, lines));
        s = lines.join("\n");
        break;
      }
      case 8: // random bytes
        s = s.slice(0, at) +
          Array.from({ length: int(r, 32) }, () => String.fromCharCode(int(r, 256))).join("") +
          s.slice(at);
        break;
      default: // many lines
        s = s.slice(0, at) + "\n".repeat(int(r, 20_000)) + s.slice(at);
    }
  }
  return s;
}

/** A mutated seed or random bytes, decoded as UTF-8 (invalid sequences become U+FFFD). */
function input(seed: string, r: Rng): string {
  if (r() < 0.15) {
    return fromBytes(
      Array.from({ length: int(r, 4096) }, () => String.fromCharCode(int(r, 256))).join(""),
    );
  }
  return fromBytes(mutateBytes(toBytes(seed), r));
}

/** Puts a fresh secret in the password position (field 1) of every line that has one. */
function plantSecrets(text: string, r: Rng): { text: string; secrets: string[] } {
  const secrets: string[] = [];
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./";
  const lines = text.split("\n").map((l) => {
    const f = l.split(":");
    if (f.length < 2 || l.length > 70_000) return l;
    const secret = Array.from({ length: 24 }, () => pick(r, alphabet.split(""))).join("");
    secrets.push(secret);
    f[1] = pick(r, ["", "!", "!!", "*"]) + pick(r, ["$6$salt$", "$y$j9T$", ""]) + secret;
    return f.join(":");
  });
  return { text: lines.join("\n"), secrets };
}

function assertNoSecret(name: string, seed: number, out: unknown, secrets: string[]): void {
  const text = JSON.stringify(out);
  for (const s of secrets) {
    for (let i = 0; i + 8 <= s.length; i++) {
      assert(
        !text.includes(s.slice(i, i + 8)),
        `${name} leaked a password field (BPFINK_FUZZ_SEED=${seed})`,
      );
    }
  }
}

/** Runs `one` on fresh inputs for MS milliseconds, timing each run's CPU and naming the seed on failure. */
function fuzz(name: string, offset: number, one: (r: Rng, run: number) => number | void): void {
  Deno.test(`fuzz ${name}: random and mutated input never throws, hangs or leaks`, () => {
    const seed = BASE_SEED + offset;
    const r = rng(seed);
    const end = performance.now() + MS;
    let runs = 0;
    // At least MIN_RUNS inputs however slow the machine, then as many as fit in MS.
    while (runs < MIN_RUNS || performance.now() < end) {
      const cpu = cpuClock();
      let chars = 0;
      try {
        chars = one(r, runs) ?? 0;
      } catch (e) {
        throw new Error(`${name} failed on run ${runs} (BPFINK_FUZZ_SEED=${BASE_SEED}): ${e}`);
      }
      const took = cpu();
      const budget = SLOW_MS + (5 * chars) / 1000;
      assert(
        took < budget,
        `${name} took ${took.toFixed(0)} ms of CPU (budget ${
          budget.toFixed(0)
        } ms for ${chars} characters) on run ${runs} (BPFINK_FUZZ_SEED=${BASE_SEED})`,
      );
      runs++;
    }
  });
}

/** A mutated seed or random bytes, as a string of one character per byte (not decoded). */
function inputBytes(seed: string, r: Rng): string {
  if (r() < 0.15) {
    return Array.from({ length: int(r, 4096) }, () => String.fromCharCode(int(r, 256))).join("");
  }
  return mutateBytes(toBytes(seed), r);
}

const byteArray = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/**
 * Asserts that `out` shows bytes as bpfink shows them: no lone surrogate
 * (JSON would write it as `\udcNN`), and no U+FFFD the input did not hold.
 */
function assertShownBytes(name: string, out: unknown, input: string): void {
  const text = JSON.stringify(out);
  assert(
    !/\\ud[89a-f][0-9a-f]{2}/i.test(text),
    `${name} kept a lone surrogate (BPFINK_FUZZ_SEED=${BASE_SEED})`,
  );
  assert(
    !text.includes("\ufffd") || input.includes("\xef\xbf\xbd"),
    `${name} turned bytes into U+FFFD (BPFINK_FUZZ_SEED=${BASE_SEED})`,
  );
}

/**
 * A colon database, read as bytes (as the agent hands them over, invalid
 * UTF-8 included): parse, then diff against the previous run's parse both
 * ways, with the other databases as peers.
 */
function fuzzDatabase<T>(
  name: string,
  offset: number,
  parse: (t: Uint8Array) => { entries: T[] },
  diff: (a: T[], b: T[], file: string, peers: Peers) => unknown,
): void {
  let previous: T[] = [];
  fuzz(name, offset, (r) => {
    const { text, secrets } = plantSecrets(inputBytes(SEEDS[name], r), r);
    const parsed = parse(byteArray(text));
    const peers = peersFrom(r);
    const out = [
      parsed,
      diff(previous, parsed.entries, "f", peers),
      diff(parsed.entries, previous, "f", peers),
    ];
    assertNoSecret(name, BASE_SEED, out, secrets);
    assertShownBytes(name, out, text);
    previous = parsed.entries;
    return text.length;
  });
}

/** passwd and group as the other databases beside the one fuzzed: mutated, or absent. */
function peersFrom(r: Rng): Peers {
  const dbs: Record<string, unknown[]> = {};
  if (r() < 0.7) dbs.passwd = parsePasswd(byteArray(inputBytes(SEEDS.passwd, r)), fp).entries;
  if (r() < 0.7) dbs.group = parseGroupFile(byteArray(inputBytes(SEEDS.group, r))).entries;
  return <E>(kind: string) =>
    Object.hasOwn(dbs, kind) ? { entries: dbs[kind] as E[], file: kind } : undefined;
}

fuzzDatabase("passwd", 1, (t) => parsePasswd(t, fp), diffPasswd);
fuzzDatabase("shadow", 2, (t) => parseShadow(t, fp), diffShadow);
fuzzDatabase("group", 3, (t) => parseGroupFile(t), diffGroup);
fuzzDatabase("gshadow", 4, (t) => parseGshadow(t, fp), diffGshadow);

/** A random name of 1 to 8 bytes that a line keeps whole: no `:`, `,`, newline or NUL, a letter first. */
function byteName(r: Rng): string {
  let n = "u";
  for (let k = int(r, 8); k > 0; k--) {
    const b = int(r, 256);
    n += b === 0x3a || b === 0x2c || b === 0x0a || b === 0 ? "\\" : String.fromCharCode(b);
  }
  return n;
}

fuzz("account names", 8, (r) => {
  // Names of random bytes, some differing only in bytes that are not UTF-8, or in `\\`.
  const names = [...new Set(Array.from({ length: 1 + int(r, 12) }, () => byteName(r)))];
  const passwd = names.map((n, k) => `${n}:x:${1000 + k}:${pick(r, [0, 27, 1000 + k])}::/:/s\n`)
    .join("");
  const group = `root:x:0:\nsudo:x:27:${names.join(",")}\n` +
    names.map((n, k) => `${n}:x:${1000 + k}:\n`).join("");
  const gshadow = `sudo:!:${names.join(",")}:${names.join(",")}\n`;
  const users = parsePasswd(byteArray(passwd), fp).entries;
  const groups = parseGroupFile(byteArray(group)).entries;
  // Each name reads as its bytes shown as a path's are: the same text for the same bytes only.
  const shown = names.map((n) => displayPath(decodePathBytes(byteArray(n))));
  const bad = `account names lost their bytes (BPFINK_FUZZ_SEED=${BASE_SEED})`;
  assert(users.map((e) => e.name).join("\n") === shown.join("\n"), bad);
  assert(new Set(shown).size === names.length, bad);
  const sudo = groups.find((g) => "members" in g && g.name === "sudo");
  assert(sudo?.members.join("\n") === shown.join("\n"), bad);
  const gs = parseGshadow(byteArray(gshadow), fp).entries[0];
  assert(gs.members.join("\n") === shown.join("\n"), bad);
  // Every name is its own account, group member and gid holder in the events.
  const peers: Peers = <E>(kind: string) =>
    kind === "group" ? { entries: groups as E[], file: "group" } : undefined;
  const added = diffPasswd([], users, "passwd", peers);
  const subjects = added.filter((c) => c.action === "user_added").map((c) => c.subject);
  assert(subjects.join("\n") === shown.join("\n"), bad);
  const joined = diffGroup([], groups, "group").filter((c) => c.action === "group_gid_gained");
  assert(
    new Set(joined.map((c) => `${c.fields?.user?.name}\0${c.subject}`)).size === joined.length,
    bad,
  );
  assertShownBytes("account names", [users, groups, gs, added, joined], passwd + group);
  return passwd.length + group.length;
});

let previousRules: ReturnType<typeof parseAccessConf>["entries"] = [];
fuzz("access", 5, (r) => {
  const text = input(SEEDS.access, r);
  const parsed = parseAccessConf(text, pick(r, [":", ":", "|", ":|", ""]));
  diffAccess(previousRules, parsed.entries, "f");
  diffAccess(parsed.entries, previousRules, "f");
  previousRules = parsed.entries;
  return text.length;
});

/** A file tree of mutated sudoers files that include each other, themselves, and a deep chain. */
function includeTree(r: Rng): { files: Record<string, string>; reader: SudoersReader } {
  const files: Record<string, string> = {};
  const paths = [
    "/etc/sudoers",
    "/etc/sudoers.d/a",
    "/etc/sudoers.d/b",
    "/etc/sudoers.d/c~",
    "/etc/sudoers.d/d.bak",
    "/etc/sudoers.local",
  ];
  const targets = [
    ...paths,
    "/etc/sudoers.d",
    "../sudoers",
    "sudoers.local",
    "/deep/0",
    "/missing",
    "/etc/sudoers.d/",
    "",
    "/etc/sudoers.%h",
    '"/etc/sudoers.d/a"',
  ];
  for (const p of paths) {
    let text = input(SEEDS.sudoers, r);
    for (let k = int(r, 4); k > 0; k--) {
      text += `\n${pick(r, ["@include", "@includedir", "#include", "#includedir"])} ${
        pick(r, targets)
      }\n`;
    }
    files[p] = text;
  }
  for (let i = 0; i < 300; i++) files[`/deep/${i}`] = `@include /deep/${i + 1}\nu${i} ALL=ALL\n`;
  const reader: SudoersReader = {
    readFile: (p) => files[p],
    readDir: (p) =>
      Object.keys(files).filter((f) => f.startsWith(p.replace(/\/$/, "") + "/"))
        .map((f) => f.slice(p.replace(/\/$/, "").length + 1)),
  };
  return { files, reader };
}

let previousSudoers: ReturnType<typeof parseSudoers>["entries"] = [];
fuzz("sudoers", 6, (r) => {
  const { files, reader } = includeTree(r);
  let chars = files["/etc/sudoers"].length;
  const counting: SudoersReader = {
    readFile: (p) => {
      const t = reader.readFile(p);
      chars += t?.length ?? 0;
      return t;
    },
    readDir: reader.readDir,
  };
  const parsed = parseSudoers(files["/etc/sudoers"], "/etc/sudoers", {
    reader: counting,
    hostname: "h",
  });
  for (const e of parsed.entries) {
    const m = /^\/deep\/(\d+)$/.exec(e.file);
    assert(!m || Number(m[1]) < 8, `include depth not bounded (BPFINK_FUZZ_SEED=${BASE_SEED})`);
  }
  diffSudoers(previousSudoers, parsed.entries);
  diffSudoers(parsed.entries, previousSudoers);
  // The programs its rules let users run: absolute paths, at most MAX_PROGRAMS of them.
  const commands = commandFilesOf(parsed.entries);
  assert(commands.length <= MAX_PROGRAMS, `${commands.length} commands`);
  for (const c of commands) assert(c.path.startsWith("/"), `command ${c.path} is not absolute`);
  previousSudoers = parsed.entries;
  return chars;
});

/** Counts of each line, for the multiset check. */
function counts(lines: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

fuzz("line diff", 7, (r) => {
  const a = input(SEEDS.text, r);
  const b = r() < 0.5 ? fromBytes(mutateBytes(toBytes(a), r)) : input(SEEDS.text, r);
  const asBytes = r() < 0.5;
  const enc = (s: string) => asBytes ? new TextEncoder().encode(s) : s;
  const opts = r() < 0.3 ? { maxEdits: int(r, 50), maxShown: 1_000_000 } : { maxShown: 1_000_000 };
  const d = diffLines(enc(a), enc(b), opts);
  if (d.status !== "diff") return;
  const split = (s: string) =>
    s === "" ? [] : s.replace(/\n$/, "").split("\n").map((l) => l.replace(/\r$/, ""));
  const la = split(a);
  const lb = split(b);
  const removed = new Set(d.removed.map((x) => x.line - 1));
  const added = new Set(d.added.map((x) => x.line - 1));
  const keptA = la.filter((_, i) => !removed.has(i));
  const keptB = lb.filter((_, i) => !added.has(i));
  const bad = `line diff is not an edit script (BPFINK_FUZZ_SEED=${BASE_SEED})`;
  if (d.method === "myers") {
    assert(keptA.length === keptB.length && keptA.every((l, i) => l === keptB[i]), bad);
  } else {
    const ca = counts(keptA);
    const cb = counts(keptB);
    assert(ca.size === cb.size && [...ca].every(([l, n]) => cb.get(l) === n), bad);
  }
});

/** Every message escapes what the file's writer chose (comments, options, commands, names). */
function assertEscaped(changes: { message: string }[]): void {
  for (const c of changes) {
    const control = [...c.message].some((ch) => ch.charCodeAt(0) < 0x20 || ch === "\x7f");
    assert(!control, `unescaped message (BPFINK_FUZZ_SEED=${BASE_SEED})`);
  }
}

let previousKeys: ReturnType<typeof parseAuthorizedKeys>["entries"] = [];
fuzz("ssh_keys", 8, (r) => {
  const text = input(SEEDS.ssh_keys, r);
  const parsed = parseAuthorizedKeys(text);
  const account = pick(r, [undefined, { name: "root", uid: 0 }]);
  assertEscaped([
    ...diffSshKeys(previousKeys, parsed.entries, "f", account),
    ...diffSshKeys(parsed.entries, previousKeys, "f", account),
  ]);
  previousKeys = parsed.entries;
  return text.length;
});

let previousCron = { jobs: [] as CronJob[], settings: [] as CronSetting[] };
fuzz("cron", 9, (r) => {
  const text = input(SEEDS.cron, r);
  const parsed = parseCrontab(text, r() < 0.5);
  const now = { jobs: parsed.entries, settings: parsed.settings };
  // The programs its jobs run: absolute paths, at most MAX_PROGRAMS of them.
  const programs = programsOf(parsed.entries, pick(r, ["root", "alice"]), parsed.settings);
  assert(programs.length <= MAX_PROGRAMS, `${programs.length} programs`);
  for (const p of programs) assert(p.path.startsWith("/"), `program ${p.path} is not absolute`);
  assertEscaped([
    ...diffCron(previousCron, now, "f", () => pick(r, [0, 1000, undefined])),
    ...diffCron(now, previousCron, "f", () => 0, "alice"),
  ]);
  previousCron = now;
  return text.length;
});

let previousSshd: ReturnType<typeof parseSshdConfig>["entries"] = [];
fuzz("sshd", 10, (r) => {
  const text = input(SEEDS.sshd, r);
  const parsed = parseSshdConfig(text);
  assertEscaped([
    ...diffSshd(previousSshd, parsed.entries, "f"),
    ...diffSshd(parsed.entries, previousSshd, "f"),
  ]);
  previousSshd = parsed.entries;
  return text.length;
});

let previousPreload: string[] = [];
fuzz("preload", 11, (r) => {
  const text = input(SEEDS.preload, r);
  const entries = preloadEntries(new TextEncoder().encode(text));
  assertEscaped([
    ...diffPreload(previousPreload, entries, "f"),
    ...diffPreload(entries, previousPreload, "f"),
  ]);
  previousPreload = entries;
  return text.length;
});

let previousUnit: UnitSetting[] = [];
fuzz("systemd", 14, (r) => {
  const text = input(SEEDS.systemd, r);
  const parsed = parseUnitFile(text).entries;
  const programs = unitPrograms(parsed);
  assert(programs.length <= MAX_PROGRAMS, `${programs.length} programs`);
  for (const p of programs) assert(p.path.startsWith("/"), `program ${p.path} is not absolute`);
  assertEscaped([...diffUnit(previousUnit, parsed, "f"), ...diffUnit(parsed, previousUnit, "f")]);
  previousUnit = parsed;
  return text.length;
});

let previousShell: unknown;
fuzz("shell", 15, (r) => {
  const text = input(SEEDS.shell, r);
  const path = ["/root/.bashrc", "/etc/profile", "/home/x/.profile"][Math.floor(r() * 3)];
  const passwd = "root:x:0:0::/root:/bin/sh\nx:x:1:1::/home/x:/bin/sh\n";
  const ctx = {
    ...consumerContext(new Uint8Array(32), () => {}),
    readFile: (p: string) => p === "/etc/passwd" ? passwd : undefined,
  };
  const snap = shellConsumer.snapshot(path, text, ctx);
  const programs = shellConsumer.watchAlso!(snap);
  assert(programs.length <= MAX_PROGRAMS, `${programs.length} programs`);
  for (const p of programs) assert(p.path.startsWith("/"), `program ${p.path} is not absolute`);
  assertEscaped([
    ...diffShell(previousShell as never, snap as never, path),
    ...diffShell(snap as never, previousShell as never, path),
  ]);
  previousShell = snap;
  return text.length;
});

for (const [f, offset] of [[UDEV, 16], [APT, 17], [MODPROBE, 18], [LOGROTATE, 22]] as const) {
  let previous: HookCommand[] = [];
  fuzz(f.name, offset, (r) => {
    const text = input(SEEDS[f.name], r);
    const commands = f.commands(text).entries;
    const programs = hookPrograms(f, commands);
    assert(programs.length <= MAX_PROGRAMS, `${programs.length} programs`);
    for (const p of programs) assert(p.path.startsWith("/"), `program ${p.path} is not absolute`);
    assertEscaped([
      ...diffHooks(f, previous, commands, "f"),
      ...diffHooks(f, commands, previous, "f"),
    ]);
    previous = commands;
    return text.length;
  });
}

let previousNss: NssDatabase[] = [];
fuzz("nss", 19, (r) => {
  const text = input(SEEDS.nss, r);
  const dbs = parseNsswitch(text).databases;
  const libs = nssLibraries(dbs);
  assert(libs.length <= MAX_PROGRAMS, `${libs.length} libraries`);
  for (const l of libs) assert(/^\/[^\0]*\/libnss_[^/]*\.so\.2$/.test(l.path), `library ${l.path}`);
  assertEscaped([...diffNsswitch(previousNss, dbs, "f"), ...diffNsswitch(dbs, previousNss, "f")]);
  previousNss = dbs;
  return text.length;
});

let previousEnv: EnvVariable[] = [];
fuzz("environment", 20, (r) => {
  const text = input(SEEDS.environment, r);
  // /etc/environment's form, or pam_env.conf's.
  const read = r() < 0.5 ? parseEnvironment : parsePamEnvConf;
  const vars = read(text, (s) => `hmac-${s.length}`);
  const files = environmentFiles(vars);
  assert(files.length <= MAX_PROGRAMS, `${files.length} files`);
  for (const f of files) assert(f.path.startsWith("/"), `file ${f.path} is not absolute`);
  assertEscaped([
    ...diffEnvironment(previousEnv, vars, "f"),
    ...diffEnvironment(vars, previousEnv, "f"),
  ]);
  previousEnv = vars;
  return text.length;
});

let previousSudoConf: SudoDirective[] = [];
fuzz("sudo_conf", 21, (r) => {
  const text = input(SEEDS.sudo_conf, r);
  const ds = parseSudoConf(text);
  const files = sudoConfFiles(ds);
  assert(files.length <= MAX_PROGRAMS, `${files.length} files`);
  for (const f of files) assert(f.path.startsWith("/"), `file ${f.path} is not absolute`);
  assertEscaped([
    ...diffSudoConf(previousSudoConf, ds, "f"),
    ...diffSudoConf(ds, previousSudoConf, "f"),
  ]);
  previousSudoConf = ds;
  return text.length;
});

let previousSysctl: SysctlSetting[] = [];
fuzz("sysctl", 22, (r) => {
  const text = input(SEEDS.sysctl, r);
  const ss = parseSysctl(text);
  const files = sysctlPrograms(ss);
  assert(files.length <= MAX_PROGRAMS, `${files.length} files`);
  for (const f of files) assert(f.path.startsWith("/"), `file ${f.path} is not absolute`);
  assertEscaped([...diffSysctl(previousSysctl, ss, "f"), ...diffSysctl(ss, previousSysctl, "f")]);
  previousSysctl = ss;
  return text.length;
});

let previousPam: ReturnType<typeof parsePamConf>["entries"] = [];
fuzz("pam", 12, (r) => {
  const text = input(SEEDS.pam, r);
  const lines = parsePamConf(text).entries;
  // Includes read a mutated file too, themselves included: bounded by libpam's depth.
  const read = () => r() < 0.5 ? text : undefined;
  const auth = {
    before: authPassesWithoutPassword(previousPam, read),
    after: authPassesWithoutPassword(lines, read),
  };
  assertEscaped([...diffPam(previousPam, lines, "f", auth), ...diffPam(lines, previousPam, "f")]);
  previousPam = lines;
  return text.length;
});

/** A raw ACL xattr: user::rw-, user:65534:rw-, group::r--, group:4:r--, mask::rw-, other::r--. */
const ACL_SEED = (() => {
  const entries = [[1, 6, -1], [2, 6, 65534], [4, 4, -1], [8, 4, 4], [0x10, 6, -1], [0x20, 4, -1]];
  const b = new DataView(new ArrayBuffer(4 + 8 * entries.length));
  b.setUint32(0, 2, true);
  entries.forEach(([tag, perm, id], i) => {
    b.setUint16(4 + 8 * i, tag, true);
    b.setUint16(6 + 8 * i, perm, true);
    b.setUint32(8 + 8 * i, id >>> 0, true);
  });
  return String.fromCharCode(...new Uint8Array(b.buffer));
})();
const XATTR_NAMES = [
  "system.posix_acl_access",
  "system.posix_acl_default",
  "security.capability",
  undefined,
];

let previousAttrs = "";
fuzz("ACL and xattr attributes", 13, (r) => {
  const bytes = byteArray(inputBytes(ACL_SEED, r));
  const acl = decodeAcl(bytes);
  if (!("error" in acl)) {
    assert(
      aclText(parseAclText(aclText(acl))) === aclText(acl),
      `an ACL's text does not read back (BPFINK_FUZZ_SEED=${BASE_SEED})`,
    );
  }
  const known = pick(r, XATTR_NAMES);
  const name = known !== undefined
    ? new TextEncoder().encode(known)
    : byteArray(inputBytes("user.token", r)).filter((b) => b !== 0).subarray(0, 255);
  // A value of unknown meaning may be a secret: planted, and looked for everywhere.
  const secret = `SECRET${int(r, 1e9)}VALUE`;
  const value = known !== undefined
    ? bytes
    : Uint8Array.from([...bytes, ...new TextEncoder().encode(secret)]);
  const line = xattrLine(name, value);
  assert(!line.includes("\n"), `an xattr line holds a newline (BPFINK_FUZZ_SEED=${BASE_SEED})`);
  const attrs = [line, flagsLine(int(r, 256))].filter((l) => l !== undefined).sort().join("\n");
  const ctx = { uid: pick(r, [0, 1000]), mode: int(r, 0o10000), secret: r() < 0.5 };
  const changes = [
    ...attrChanges(previousAttrs, attrs, ctx),
    ...attrChanges(attrs, previousAttrs, ctx),
  ];
  const shown = JSON.stringify(changes) + attrs;
  assert(!shown.includes(secret), `an xattr value was shown (BPFINK_FUZZ_SEED=${BASE_SEED})`);
  assertEscaped(attrPhrases(changes).map((message) => ({ message })));
  previousAttrs = attrs;
  return bytes.length;
});

/** Where each by-meaning consumer reads (its name picks it). */
const CONSUMER_PATHS = [
  "/f/sudoers.d/x",
  "/f/cron.d/x",
  "/f/sshd_config.d/x.conf",
  "/f/pam.d/x",
  "/f/.ssh/authorized_keys",
  "/f/ld.so.preload",
  "/f/passwd",
  "/f/shadow",
  "/f/group",
  "/f/gshadow",
  "/f/access.conf",
];
const fuzzCtx = consumerContext(new Uint8Array(32), () => {});

fuzz("many-line garbage", 13, (r) => {
  // Thousands of lines of random bytes, with NUL bytes (a blob) or without (garbage text).
  const blob = r() < 0.5;
  const lines = Array.from(
    { length: 500 + int(r, 5000) },
    () =>
      Array.from({ length: int(r, 40) }, () => {
        const c = int(r, 256);
        return String.fromCharCode(c === 10 || (!blob && c === 0) ? 0x41 : c);
      }).join(""),
  );
  const text = lines.join("\n") + (blob ? "\0\n" : "\n");
  const bytes = byteArray(text);
  const decoded = new TextDecoder().decode(bytes);
  for (const path of CONSUMER_PATHS) {
    const name = consumerNameFor(path);
    const c = semanticConsumer(name)!;
    const snap = c.snapshot(path, decoded, fuzzCtx, bytes);
    const changes = c.diff(path, undefined, snap, fuzzCtx);
    const out = boundedChanges(name, changes, { now: blob, before: false }, c.notText);
    // Bounded whatever the garbage: a blob gives one event and its critical changes.
    const bound = blob ? 1 + NOT_TEXT_ITEMIZED : MAX_ITEMIZED_CHANGES + 2;
    assert(out.length <= bound, `${name}: ${out.length} events (BPFINK_FUZZ_SEED=${BASE_SEED})`);
    if (blob) assert(out[0].action === `${name}_not_text`, `${name}: ${out[0].action}`);
    // And when it is removed: what its lines meant goes as one event too.
    const gone = boundedChanges(
      name,
      c.diff(path, snap, undefined, fuzzCtx),
      { now: false, before: blob },
      c.notText,
    );
    assert(gone.length <= bound, `${name}: ${gone.length} events when removed`);
    assertEscaped([...out, ...gone]);
  }
  return text.length * CONSUMER_PATHS.length;
});

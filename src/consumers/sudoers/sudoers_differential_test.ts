/**
 * Differential tests: bpfink's sudoers parser against sudo's own, through
 * `cvtsudoers -f json` (sudo's parser, printing what it read) on the same
 * seeded mutations of a realistic sudoers file. Whenever sudo accepts a
 * file, every user specification, `Defaults` setting and alias it read
 * must be in bpfink's parse, with the same users; or bpfink must report a
 * line it could not interpret (a `sudoers_unparsed_added` event). bpfink
 * never invents a grant sudo does not see.
 *
 * CASES mutations per run; the seed is printed on failure and
 * BPFINK_FUZZ_SEED replays it. Known hazards run as fixed regressions.
 */
import { assert, assertEquals } from "../../../test/assert.ts";
import { parseSudoers, type SudoersEntry } from "./sudoers.ts";
import { rng } from "../../../test/rng.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 150);
/** Inputs sudo must accept in the mutation run: what a quarter of CASES gives on average. */
const ACCEPTED = Math.ceil(CASES / 4);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = (() => {
  try {
    Deno.statSync("/usr/bin/cvtsudoers");
    return false;
  } catch {
    return true;
  }
})();

const BASE = [
  "Defaults env_reset, mail_badpass",
  'Defaults secure_path="/usr/sbin:/usr/bin:/sbin:/bin"',
  "Defaults:bob !requiretty",
  "Defaults@web1 log_output",
  "User_Alias ADMINS = alice, bob : OPS = carol",
  "Cmnd_Alias SHELLS = /bin/sh, /bin/bash",
  "Runas_Alias DBA = postgres, %dba",
  "Host_Alias LAN = 10.0.0.0/8, web1",
  "root ALL=(ALL:ALL) ALL",
  "%sudo ALL=(ALL:ALL) ALL",
  "ADMINS LAN = NOPASSWD: SHELLS",
  "carol web1, db2 = (root) /usr/bin/less /var/log/*, !/usr/bin/su : LAN = (DBA) NOEXEC: ALL",
  "#1000 ALL=(#0) NOPASSWD: ALL",
  "dave ALL = (ALL) TIMEOUT=5m CWD=* SETENV: /usr/bin/env",
];

const PIECES = [
  ",",
  ":",
  "=",
  "(",
  ")",
  "!",
  " ",
  "\t",
  "\\\n",
  "#",
  '"',
  "ALL",
  "NOPASSWD:",
  "PASSWD:",
  "NOEXEC:",
  "%",
  "+",
  "#0",
  "%#0",
  "/bin/sh",
  "sha256:abcd ",
  "\\,",
  "\\:",
  "Defaults ",
  "Defaults:",
  "User_Alias X = y",
  "TIMEOUT=5 ",
  "CWD=* ",
  "^/bin/.*$",
  "*",
  "\\",
  "@",
  "-",
  "_",
  "0",
  "ALL, ",
  "\n",
  "é",
  "root",
  "%:grp",
  "::1",
  "ALL : ",
  ">",
  "+=",
  "-=",
  "\\\\",
  "\0",
  "\r",
  "\f",
  "\v",
  "\0ALL ALL=(ALL) NOPASSWD: ALL\n",
];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const some = (r: () => number, xs: readonly string[]) =>
  Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(r, xs)).join(
    pick(r, [", ", ",", " ,"]),
  );

/** A new user specification from sudo's grammar, written with varied spacing. */
function generated(r: () => number): string {
  const users = some(r, [
    "alice",
    "%wheel",
    "#1001",
    "+ng",
    "%:dom",
    "ADMINS",
    "!bob",
    '"a b"',
    "%#27",
  ]);
  const parts: string[] = [];
  for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
    const hosts = some(r, ["ALL", "web1", "10.0.0.1", "::1", "LAN", "!db", "+hosts"]);
    const cmds: string[] = [];
    for (let c = 0; c < 1 + Math.floor(r() * 3); c++) {
      const runas = pick(r, ["", "(root)", "(ALL:ALL)", "(:wheel)", "(DBA, #0 : %adm)", "()"]);
      const opts = pick(r, ["", "TIMEOUT=1h ", "CWD=/tmp ", "NOTBEFORE=20240101000000Z "]);
      const tags = pick(r, [
        "",
        "NOPASSWD: ",
        "NOPASSWD:NOEXEC: ",
        "SETENV: LOG_INPUT: ",
        "MAIL: ",
      ]);
      const cmd = pick(r, [
        "ALL",
        "/bin/ls",
        "/bin/ls -l /tmp",
        '/bin/echo ""',
        "!/bin/sh",
        "SHELLS",
        "sha256:0123abcd /bin/cat",
        "/usr/bin/vi /etc/*",
        "^/bin/.*$",
        "sudoedit /etc/hosts",
      ]);
      cmds.push(`${runas} ${opts}${tags}${cmd}`);
    }
    parts.push(`${hosts} = ${cmds.join(pick(r, [", ", " ,"]))}`);
  }
  return `${users} ${parts.join(" : ")}`;
}

function mutated(r: () => number): string {
  const lines = [...BASE];
  if (r() < 0.5) lines.push(generated(r));
  const n = r() < 0.8 ? 1 : 2;
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    let s = lines[i];
    const edits = 1 + Math.floor(r() * 2);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(r() * (s.length + 1));
      if (r() < 0.3) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 3));
      else s = s.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)] + s.slice(at);
    }
    lines[i] = s;
  }
  return lines.join("\n") + "\n";
}

interface Sudo {
  /** Per user specification (host part), its users as sudo names them. */
  specs: string[];
  defaults: number;
  aliases: number;
}

/** What sudo read from `text`, or undefined when sudo rejects the file. */
async function sudoRead(dir: string, text: string): Promise<Sudo | undefined> {
  const f = `${dir}/sudoers`;
  await Deno.writeTextFile(f, text);
  const out = await new Deno.Command("cvtsudoers", {
    args: ["-f", "json", f],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return undefined;
  // cvtsudoers 1.9.13 prints a CWD option as a bare `"runcwd": "…",` inside
  // an array (invalid JSON): wrapped in braces like every other option.
  const json = new TextDecoder().decode(out.stdout).replace(
    /^(\s*)("runcwd": .*?)(,?)$/gm,
    "$1{ $2 }$3",
  );
  const j = JSON.parse(json);
  const specs = ((j.User_Specs ?? []) as { User_List: Record<string, unknown>[] }[]).map((s) =>
    s.User_List.map(sudoUser).join(", ")
  );
  const defaults = ((j.Defaults ?? []) as { Options: unknown[] }[]).reduce(
    (n, d) => n + d.Options.length,
    0,
  );
  let aliases = 0;
  for (const k of ["User_Aliases", "Runas_Aliases", "Host_Aliases", "Command_Aliases"]) {
    aliases += Object.keys(j[k] ?? {}).length;
  }
  return { specs, defaults, aliases };
}

const USER_PREFIX: Record<string, string> = {
  username: "",
  useralias: "",
  usergroup: "%",
  userid: "#",
  usergid: "%#",
  netgroup: "+",
  nonunixgroup: "%:",
};

/** A cvtsudoers user item as written in sudoers, e.g. `{ usergroup: "wheel" }` → `%wheel`. */
function sudoUser(u: Record<string, unknown>): string {
  const k = Object.keys(u).find((k) => k in USER_PREFIX);
  if (!k) return JSON.stringify(u);
  return `${u.negated ? "!" : ""}${USER_PREFIX[k]}${u[k]}`;
}

/**
 * A user as bpfink keeps it (as written), without its quotes and escapes, as
 * sudo reads it: outside quotes `\x` is `x`; inside, only `\"` is an escape
 * (`"a\\b"` is `a\\b`, as cvtsudoers shows).
 */
function plainUser(u: string): string {
  let out = "";
  let quoted = false;
  for (let i = 0; i < u.length; i++) {
    const c = u[i];
    if (c === "\\" && i + 1 < u.length && (!quoted || u[i + 1] === '"')) out += u[++i];
    else if (c === '"') quoted = !quoted;
    else out += c;
  }
  // sudo reads `#007` as uid 7, and `#-1000` as 4294966296 (`#-1` is no id: a name).
  return out.replace(/^(!?%?#)0+(?=\d)/, "$1").replace(
    /^(!?%?#)-(\d+)$/,
    (all, p, n) => Number(n) >= 2 && Number(n) <= 2 ** 31 ? `${p}${2 ** 32 - Number(n)}` : all,
  );
}

function bpfinkRead(entries: SudoersEntry[]): Sudo & { unparsed: number } {
  const specs: string[] = [];
  let defaults = 0;
  const aliases = new Set<string>();
  let unparsed = 0;
  for (const e of entries) {
    if (e.kind === "rule") {
      for (const _ of e.specs) specs.push(e.users.map(plainUser).join(", "));
    } else if (e.kind === "default") defaults++;
    else if (e.kind === "alias") aliases.add(`${e.aliasType} ${e.subject}`);
    else if (e.kind === "unparsed") unparsed++;
  }
  return { specs, defaults, aliases: aliases.size, unparsed };
}

async function compare(text: string, where: string): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-sudo-" });
  try {
    const sudo = await sudoRead(dir, text);
    if (!sudo) return false;
    const ours = bpfinkRead(parseSudoers(text, `${dir}/sudoers`).entries);
    const msg = `on ${JSON.stringify(text)} ${where}`;
    assert(ours.specs.length <= sudo.specs.length, `bpfink invents a grant ${msg}`);
    if (ours.unparsed === 0) {
      assertEquals(ours.specs, sudo.specs, `user specifications differ, nothing reported, ${msg}`);
      // sudo drops a setting it does not know (with a warning); bpfink keeps it.
      assert(ours.defaults >= sudo.defaults, `Defaults missing, nothing reported, ${msg}`);
      assertEquals(ours.aliases, sudo.aliases, `aliases differ, nothing reported, ${msg}`);
    }
    return true;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "sudo parity: a continuation then a 70k-character comment hides no rule",
  ignore,
  async fn() {
    const text = "bob ALL=(ALL) /bin/ls \\\n#" + "x".repeat(70_000) + "\neve ALL=ALL\n";
    assert(await compare(text, "(fixed)"), "sudo rejects the fixed case");
    const users = parseSudoers(text, "/etc/sudoers").entries.flatMap((e) =>
      e.kind === "rule" ? e.users : []
    );
    assertEquals(users, ["bob", "eve"]);
  },
});

Deno.test({
  name: "sudo parity: a quote in a command is a plain character (found by this test)",
  ignore,
  async fn() {
    const text =
      'carol ALL = !/usr/bin"/su : LAN = (root) NOEXEC: ALL\nc ALL = /bin/ec"ho x" : w = ALL\n';
    assert(await compare(text, "(fixed)"), "sudo rejects the fixed case");
    const hosts = parseSudoers(text, "/etc/sudoers").entries.flatMap((e) =>
      e.kind === "rule" ? e.specs.map((s) => s.hosts.join(",")) : []
    );
    assertEquals(hosts, ["ALL", "LAN", "ALL", "w"]);
  },
});

Deno.test({
  name:
    "sudo parity: a continuation inside quotes joins the lines with nothing (found by this test)",
  ignore,
  async fn() {
    const text = 'alice, "\\\na b", #1001 ALL = (ALL) ALL\n';
    assert(await compare(text, "(fixed)"), "sudo rejects the fixed case");
    const users = parseSudoers(text, "/etc/sudoers").entries.flatMap((e) =>
      e.kind === "rule" ? [e.users.join("|")] : []
    );
    assertEquals(users, ['alice|"a b"|#1001']);
  },
});

/** The commands sudo read from `text` (every rule's, then every Cmnd_Alias's members). */
async function sudoCommands(text: string): Promise<string[] | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-sudo-" });
  try {
    await Deno.writeTextFile(`${dir}/sudoers`, text);
    const out = await new Deno.Command("cvtsudoers", {
      args: ["-f", "json", `${dir}/sudoers`],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return undefined;
    type Cmnd = { command?: string; cmndalias?: string };
    const j = JSON.parse(new TextDecoder().decode(out.stdout));
    const rules = ((j.User_Specs ?? []) as { Cmnd_Specs: { Commands: Cmnd[] }[] }[]).flatMap((u) =>
      u.Cmnd_Specs.flatMap((c) => c.Commands.map((x) => x.command ?? x.cmndalias ?? "?"))
    );
    const aliases = Object.values((j.Command_Aliases ?? {}) as Record<string, Cmnd[]>).flatMap(
      (m) => m.map((x) => x.command ?? "?"),
    );
    return [...rules, ...aliases];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The commands bpfink read from `text`, in sudoCommands' order. */
function bpfinkCommands(text: string): string[] {
  const entries = parseSudoers(text, "/etc/sudoers").entries;
  return [
    ...entries.flatMap((e) =>
      e.kind === "rule" ? e.specs.flatMap((s) => s.commands.map((c) => c.command)) : []
    ),
    ...entries.flatMap((e) => e.kind === "alias" && e.aliasType === "Cmnd_Alias" ? e.members : []),
  ];
}

Deno.test({
  name: "sudo parity: in a command, a quote neither hides a comment nor joins two commands",
  ignore,
  async fn() {
    const cases = [
      // A `#` after a quote in a command starts a comment: no /bin/sh grant.
      'alice ALL = /bin/echo " # x, /bin/sh\n',
      // A comma after a quote in a Cmnd_Alias member starts the next member.
      'Cmnd_Alias X = /bin/echo ", /bin/sh\nalice ALL = X\n',
      // A continuation in a command's quote is a blank, and the comment after it is one.
      'alice ALL = /bin/echo " \\\n# x, /bin/sh\nbob ALL = /bin/ls\n',
      'alice ALL = /bin/echo "x\\\n", /bin/sh\n',
      'alice ALL = (root) NOPASSWD: /bin/echo "a b"  c, /bin/sh : ALL = /bin/echo " : ALL = /bin/id\n',
    ];
    for (const text of cases) {
      const sudo = await sudoCommands(text);
      assert(sudo, `sudo rejects the fixed case ${JSON.stringify(text)}`);
      assertEquals(bpfinkCommands(text), sudo, JSON.stringify(text));
    }
  },
});

Deno.test({
  name: "sudo parity: a comment inside a Defaults string continued on the next line is text",
  ignore,
  async fn() {
    const text = 'Defaults env_keep += "A \\\n# B"\nalice ALL = /bin/ls\n';
    assert(await compare(text, "(fixed)"), "sudo rejects the fixed case");
    const settings = parseSudoers(text, "/etc/sudoers").entries.flatMap((e) =>
      e.kind === "default" ? [e.setting] : []
    );
    assertEquals(settings, ['env_keep+="A # B"']);
  },
});

Deno.test({
  name: "sudo parity: the base file reads the same",
  ignore,
  async fn() {
    assert(await compare(BASE.join("\n") + "\n", "(base)"), "sudo rejects the base file");
  },
});

Deno.test({
  name:
    `sudo parity: seeded mutations until sudo accepted ${ACCEPTED}: what sudo grants bpfink reads or reports`,
  ignore,
  async fn() {
    const r = rng(SEED);
    // Not vacuous: mutations are drawn until sudo has accepted ACCEPTED of them (it accepts
    // about a quarter, but 13 in 150 for one seed), within a bound.
    let compared = 0;
    let i = 0;
    for (; compared < ACCEPTED && i < CASES * 4; i++) {
      if (await compare(mutated(r), `(case ${i}, BPFINK_FUZZ_SEED=${SEED})`)) compared++;
    }
    assert(compared >= ACCEPTED, `sudo accepted only ${compared} of ${i} inputs`);
  },
});

/** The files `visudo -c -f` parsed besides `main` (sorted), or undefined when it rejects `main`. */
async function visudoParsed(main: string): Promise<string[] | undefined> {
  const out = await new Deno.Command("visudo", {
    args: ["-c", "-f", main],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) return undefined;
  const text = new TextDecoder().decode(out.stdout);
  return [...text.matchAll(/^(.*): parsed OK$/gm)].map((m) => m[1]).filter((f) => f !== main)
    .sort();
}

Deno.test({
  name: "sudo parity: includes are followed where sudo's lexer finds them (visudo's parsed files)",
  ignore: ignore || (() => {
    try {
      Deno.statSync("/usr/sbin/visudo");
      return false;
    } catch {
      return true;
    }
  })(),
  async fn() {
    const d = await Deno.makeTempDir({ prefix: "bpfink-sudo-inc-" });
    try {
      await Deno.mkdir(`${d}/dir`);
      for (const f of ["t5", "t13", "a", "c", "sp ace", "dir/x", "dir/y"]) {
        await Deno.writeTextFile(`${d}/${f}`, `u${f.length} ALL = /bin/true\n`);
      }
      const cases = [
        // The keyword, a continuation, then the path on the next line.
        `@include \\\n${d}/t5\n`,
        `@include\\\n${d}/t5\n`,
        `#include \\\n   ${d}/t5\n`,
        `@includedir \\\n${d}/dir\n`,
        // A quoted path with no blank after the keyword.
        `@include"${d}/t13"\n`,
        `@includedir"${d}/dir"\n`,
        // ... but `#include` needs the blank: this is a comment.
        `#include"${d}/t13"\n`,
        // An indented #include is a comment; an indented @include is an include.
        `  #include ${d}/c\n`,
        `\t#includedir ${d}/dir\n`,
        `  @include ${d}/c\n`,
        `\t@includedir ${d}/dir\n`,
        // Escapes, a continuation inside quotes, a comment after the path.
        `@include ${d}/\\x61\n`,
        `@include ${d}/sp\\ ace\n`,
        `@include "${d}/sp ace" # c\n`,
        `@include "${d}/\\\n   t13"\n`,
        `#include\t${d}/a\n`,
      ];
      for (const text of cases) {
        await Deno.writeTextFile(`${d}/main`, text);
        const sudo = await visudoParsed(`${d}/main`);
        assert(sudo, `visudo rejects the fixed case ${JSON.stringify(text)}`);
        const read: string[] = [];
        const r = parseSudoers(text, `${d}/main`, {
          reader: {
            readFile: (p) => {
              read.push(p);
              return Deno.readTextFileSync(p);
            },
            readDir: (p) => [...Deno.readDirSync(p)].map((e) => e.name),
          },
        });
        assertEquals(read.sort(), sudo, JSON.stringify(text));
        assertEquals(r.errors, [], JSON.stringify(text));
      }
    } finally {
      await Deno.remove(d, { recursive: true });
    }
  },
});

Deno.test({
  name: "sudo parity: a line sudo rejects is reported as not interpreted, never as a grant",
  ignore,
  async fn() {
    // Accepted forms of the same options stay rules.
    const accepted =
      'alice ALL=(ALL) NOTBEFORE=2020010112Z NOTAFTER="20200101120000.5-01" TIMEOUT=1h30M CWD=~ ALL, list, sudoedit /x\n';
    assert(await compare(accepted, "(fixed)"), "sudo rejects the accepted case");
    assertEquals(parseSudoers(accepted, "/etc/sudoers").entries.map((e) => e.kind), ["rule"]);
    const cases = [
      // A continuation at the end of the file.
      "alice ALL=ALL \\",
      "alice ALL=ALL \\\n",
      // A date sudo cannot read, a timeout it cannot read, a CWD that is not a path.
      "alice ALL=(ALL) NOTBEFORE=20200101 ALL\n",
      "alice ALL=(ALL) NOTAFTER=2020010112000 ALL\n",
      "alice ALL=(ALL) TIMEOUT=1.5 ALL\n",
      "alice ALL=(ALL) TIMEOUT=99999999999999 ALL\n",
      "alice ALL=(ALL) CWD=tmp ALL\n",
      // A vertical tab, form feed or carriage return is no blank for sudo.
      "alice\vALL=ALL\n",
      "alice ALL=\fALL\n",
      "alice\rALL=ALL\n",
      // A command that is not a full path.
      "alice ALL=ls\n",
      'alice ALL="/bin/ls"\n',
      // Not an include: one word.
      "@include/etc/x\n",
    ];
    for (const text of cases) {
      const dir = await Deno.makeTempDir({ prefix: "bpfink-sudo-" });
      try {
        assertEquals(await sudoRead(dir, text), undefined, `sudo accepts ${JSON.stringify(text)}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      const entries = parseSudoers(text, "/etc/sudoers").entries;
      assertEquals(
        entries.map((e) => e.kind),
        ["unparsed"],
        `bpfink reads a grant sudo rejects in ${JSON.stringify(text)}`,
      );
    }
  },
});

Deno.test({
  name: "sudo parity: a BOM or other character before a user name is part of the name",
  ignore,
  async fn() {
    for (const text of ["\ufeffalice ALL=ALL\n", "bob ALL=ALL\n\ufeffalice ALL=ALL\n"]) {
      assert(await compare(text, "(fixed)"), "sudo rejects the fixed case");
      const users = parseSudoers(text, "/etc/sudoers").entries.flatMap((e) =>
        e.kind === "rule" ? e.users : []
      );
      assertEquals(users.at(-1), "\ufeffalice");
    }
  },
});

Deno.test({
  name: "sudo parity: a NUL ends its line for sudo, not the file (found by this test)",
  ignore,
  async fn() {
    const cases: [string, string[]][] = [
      // A line led by a NUL is empty for sudo: no grant to ALL.
      ["root ALL=(ALL) ALL\n\0ALL ALL=(ALL) NOPASSWD: ALL\nbob ALL=ALL\n", ["root", "bob"]],
      // What follows a NUL on its line is gone; the next line is its own.
      ["alice ALL=(ALL) /bin/ls\0, ALL\nbob ALL=ALL\n", ["alice", "bob"]],
      // A continuation before the NUL still joins the next line.
      ["alice ALL=(ALL) \\\0junk\nNOPASSWD: ALL\nbob ALL=ALL\n", ["alice", "bob"]],
    ];
    for (const [text, users] of cases) {
      assert(await compare(text, "(fixed)"), `sudo rejects the fixed case ${JSON.stringify(text)}`);
      const rules = parseSudoers(text, "/etc/sudoers").entries.filter((e) => e.kind === "rule");
      assertEquals(rules.flatMap((e) => e.kind === "rule" ? e.users : []), users);
    }
    const [alice] = parseSudoers(
      "alice ALL=(ALL) \\\0junk\nNOPASSWD: ALL\n",
      "/etc/sudoers",
    ).entries;
    assert(alice.kind === "rule" && /NOPASSWD/.test(alice.canonical), "the joined tag is lost");
  },
});

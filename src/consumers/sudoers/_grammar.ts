/**
 * The sudoers grammar over one logical line: user specifications, `Defaults`
 * and aliases. The few regular expressions are anchored alternatives of
 * fixed words (no nested quantifiers), so time is linear in the input.
 *
 * @module
 */
import { Scanner, squeeze, stickyAt, trimBlanks } from "./_scanner.ts";
import type {
  SudoersAlias,
  SudoersAliasType,
  SudoersCommand,
  SudoersDefault,
  SudoersDefaultsScope,
  SudoersHostSpec,
  SudoersRule,
  SudoersRunas,
} from "./sudoers_types.ts";

const ALIAS_TYPES: Record<string, SudoersAliasType> = {
  User_Alias: "User_Alias",
  Runas_Alias: "Runas_Alias",
  Host_Alias: "Host_Alias",
  Cmnd_Alias: "Cmnd_Alias",
  Cmd_Alias: "Cmnd_Alias",
};
const DEFAULTS_SCOPE: Record<string, SudoersDefaultsScope> = {
  ":": "user",
  "@": "host",
  ">": "runas",
  "!": "command",
};
export const ALIAS_KEYWORD = /^(User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)[ \t]/;
const TAG =
  /(NOPASSWD|PASSWD|NOEXEC|EXEC|NOSETENV|SETENV|NOLOG_INPUT|LOG_INPUT|NOLOG_OUTPUT|LOG_OUTPUT|NOMAIL|MAIL|NOFOLLOW|FOLLOW|NOINTERCEPT|INTERCEPT)[ \t]*:/y;
const OPTION =
  /(TIMEOUT|CWD|CHROOT|ROLE|TYPE|NOTBEFORE|NOTAFTER|APPARMOR_PROFILE|PRIVS|LIMITPRIVS)[ \t]*=/y;
const DIGEST = /(sha224|sha256|sha384|sha512):/y;
const ALIAS_NAME = /[A-Z][A-Z0-9_]*/y;
const NEXT_ALIAS = /[ \t]*[A-Z][A-Z0-9_]*[ \t]*=/y;
const SETTING = /(!*)[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:([+-]?=)[ \t]*)?/y;

/** Why a line is not understood (the grammar's failure result, never thrown). */
export class Unparsed {
  constructor(readonly reason: string) {}
}

function fail(reason: string): Unparsed {
  return new Unparsed(reason);
}

const GENTIME = /^[0-9]{10}(?:[0-9]{2}){0,2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}(?:[0-9]{2})?)?$/;
const TIMEOUT_PART = /([0-9]+)([dDhHmMsS]?)/y;
const UNIT_SECONDS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, "": 1 };

/**
 * Why sudo rejects an option's value, or undefined when it takes it: a
 * date that is not `YYYYMMDDHH[MM[SS]][.f][Z|±hh[mm]]` ("invalid notbefore
 * value"), a timeout that is not numbers with d/h/m/s units or passes
 * INT_MAX seconds, a CWD or CHROOT that does not start with `/`, `~` or `*`.
 */
function badOption(name: string, raw: string): string | undefined {
  const value = raw.length > 1 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  switch (name) {
    case "NOTBEFORE":
    case "NOTAFTER":
      return GENTIME.test(value) ? undefined : `invalid ${name.toLowerCase()} value`;
    case "TIMEOUT": {
      let seconds = 0;
      let i = 0;
      while (i < value.length) {
        const m = stickyAt(TIMEOUT_PART, value, i);
        if (!m || m[0] === "") return "invalid timeout value";
        seconds += Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()];
        i += m[0].length;
      }
      if (value === "") return "invalid timeout value";
      return seconds > 0x7fffffff ? "timeout value too large" : undefined;
    }
    case "CWD":
    case "CHROOT":
      return "/~*".includes(raw[0]) ? undefined : `values for ${name} must start with /, ~ or *`;
  }
  return undefined;
}

/**
 * A command sudo's grammar takes: `ALL`, an alias, a fully-qualified path,
 * a `^…$` regular expression, `sudoedit` or `list` (anything else is "expected
 * a fully-qualified path name").
 */
const COMMAND_WORD = /^(?:ALL|list|sudoedit|[A-Z][A-Z0-9_]*|[/^].*)$/s;

/** One command spec: `(runas) OPTION=x TAG: command args`. */
function parseCommand(sc: Scanner): SudoersCommand | Unparsed {
  sc.blanks();
  let runas: SudoersRunas | undefined;
  if (sc.eat("(")) {
    runas = { users: [] };
    sc.blanks();
    if (sc.peek() !== ":" && sc.peek() !== ")") {
      const users = sc.list(",:()=");
      if (!users) return fail("bad Runas user list");
      runas.users = users;
    }
    sc.blanks();
    if (sc.eat(":")) {
      runas.groups = [];
      sc.blanks();
      if (sc.peek() !== ")") {
        const groups = sc.list(",:()=");
        if (!groups) return fail("bad Runas group list");
        runas.groups = groups;
      }
    }
    sc.blanks();
    if (!sc.eat(")")) return fail("Runas list without a closing parenthesis");
  }
  const options: string[] = [];
  const tags: string[] = [];
  for (;;) {
    sc.blanks();
    const opt = sc.sticky(OPTION);
    if (!opt) break;
    sc.blanks();
    const value = sc.word(",:", false);
    if (value === "") return fail(`${opt[1]} without a value`);
    const bad = badOption(opt[1], value);
    if (bad) return fail(bad);
    options.push(`${opt[1]}=${value}`);
  }
  for (;;) {
    sc.blanks();
    const tag = sc.sticky(TAG);
    if (!tag) break;
    tags.push(tag[1]);
  }
  sc.blanks();
  let command = "";
  while (sc.eat("!")) {
    command += "!";
    sc.blanks();
  }
  for (;;) {
    const digest = sc.sticky(DIGEST);
    if (!digest) break;
    const value = sc.word(",:", false);
    if (value === "") return fail("digest without a value");
    command += `${digest[1]}:${value}`;
    sc.blanks();
    const save = sc.i;
    if (sc.eat(",")) {
      sc.blanks();
      if (stickyAt(DIGEST, sc.s, sc.i)) {
        command += ",";
        continue;
      }
      sc.i = save;
    }
    command += " ";
    break;
  }
  const path = sc.word(",:", false);
  if (path === "") return fail("missing command");
  if (!COMMAND_WORD.test(path)) return fail("expected a fully-qualified path name");
  command += path;
  sc.blanks();
  const start = sc.i;
  while (!sc.done && sc.peek() !== "," && sc.peek() !== ":") sc.i += sc.peek() === "\\" ? 2 : 1;
  sc.i = Math.min(sc.i, sc.s.length);
  const args = squeeze(sc.s.slice(start, sc.i), false);
  if (args) command += " " + args;
  return { ...(runas ? { runas } : {}), options, tags, command };
}

function commandText(c: SudoersCommand): string {
  const parts: string[] = [];
  if (c.runas) {
    const groups = c.runas.groups ? ":" + c.runas.groups.join(", ") : "";
    parts.push(`(${c.runas.users.join(", ")}${groups})`);
  }
  parts.push(...c.options, ...c.tags.map((t) => `${t}:`), c.command);
  return parts.join(" ");
}

/** A user specification. */
export function parseRule(l: string): Omit<SudoersRule, "file" | "line"> | Unparsed {
  const sc = new Scanner(l);
  const users = sc.list(",=:()");
  if (!users) return fail("not a user specification, Defaults, alias or include");
  const specs: SudoersHostSpec[] = [];
  for (;;) {
    // Host words may hold `:` (IPv6 addresses).
    const hosts = sc.list(",=()");
    if (!hosts) return fail("user specification without a host list");
    sc.blanks();
    if (!sc.eat("=")) return fail("user specification without `=` after the hosts");
    const commands: SudoersCommand[] = [];
    for (;;) {
      const c = parseCommand(sc);
      if (c instanceof Unparsed) return c;
      commands.push(c);
      sc.blanks();
      if (!sc.eat(",")) break;
    }
    specs.push({ hosts, commands });
    sc.blanks();
    if (sc.done) break;
    if (!sc.eat(":")) return fail("unexpected text after a command");
  }
  const canonical = `${users.join(", ")} ${
    specs.map((s) => `${s.hosts.join(", ")}=${s.commands.map(commandText).join(", ")}`).join(
      " : ",
    )
  }`;
  return { kind: "rule", users, specs, subject: users.join(", "), canonical };
}

/**
 * Splits at commas outside escapes and (unless `quotes` is false: commands,
 * where sudo reads `"` as a plain character) quotes.
 */
function splitTopLevel(s: string, quotes = true): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === '"' && quotes) quoted = !quoted;
    else if (c === "," && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** A `Defaults` line: one entry per setting. */
export function parseDefaults(l: string): Omit<SudoersDefault, "file" | "line">[] | Unparsed {
  const sc = new Scanner(l);
  sc.i = "Defaults".length;
  const marker = sc.peek();
  const scope = DEFAULTS_SCOPE[marker] ?? "global";
  let qualifiers: string[] = [];
  if (scope !== "global") {
    sc.i++;
    const q = sc.list(",");
    if (!q) return fail(`Defaults${marker} without a qualifier`);
    qualifiers = q;
  }
  const head = `Defaults${scope === "global" ? "" : marker + qualifiers.join(",")}`;
  const out: Omit<SudoersDefault, "file" | "line">[] = [];
  for (const part of splitTopLevel(sc.s.slice(sc.i))) {
    const p = trimBlanks(part);
    if (p === "") continue;
    const m = stickyAt(SETTING, p, 0);
    if (!m) return fail("Defaults setting without a valid name");
    const value = squeeze(p.slice(m[0].length));
    if (m[3] === undefined && value !== "") return fail("Defaults setting with unexpected text");
    if (m[3] !== undefined && m[1] !== "") return fail("negated Defaults setting with a value");
    const setting = m[3] === undefined ? `${m[1]}${m[2]}` : `${m[2]}${m[3]}${value}`;
    out.push({
      kind: "default",
      scope,
      qualifiers,
      setting,
      subject: m[2],
      canonical: `${head} ${setting}`,
    });
  }
  if (out.length === 0) return fail("Defaults without a setting");
  return out;
}

/** An alias line: one entry per `NAME = members` definition. */
export function parseAliases(
  l: string,
  keyword: string,
): Omit<SudoersAlias, "file" | "line">[] | Unparsed {
  const aliasType = ALIAS_TYPES[keyword];
  const sc = new Scanner(l);
  sc.i = keyword.length;
  const out: Omit<SudoersAlias, "file" | "line">[] = [];
  for (;;) {
    sc.blanks();
    const name = sc.sticky(ALIAS_NAME);
    if (!name) return fail(`${keyword}: expected an upper-case alias name`);
    sc.blanks();
    if (!sc.eat("=")) return fail(`${keyword} ${name[0]}: expected =`);
    // Members run to the end, or to a `:` that starts the next `NAME =`.
    const start = sc.i;
    let next = false;
    const s = sc.s;
    while (sc.i < s.length) {
      const c = s[sc.i];
      if (c === "\\") {
        sc.i += 2;
        continue;
      }
      if (
        c === ":" && !/sha(224|256|384|512)$/.test(s.slice(Math.max(0, sc.i - 6), sc.i)) &&
        stickyAt(NEXT_ALIAS, s, sc.i + 1)
      ) {
        next = true;
        break;
      }
      sc.i++;
    }
    sc.i = Math.min(sc.i, s.length);
    // A Cmnd_Alias's members are commands: a `"` in them is a plain character.
    const quotes = aliasType !== "Cmnd_Alias";
    const members = splitTopLevel(s.slice(start, sc.i), quotes).map((m) => squeeze(m, quotes));
    if (members.some((m) => m === "")) return fail(`${keyword} ${name[0]}: empty member`);
    const value = members.join(", ");
    out.push({
      kind: "alias",
      aliasType,
      subject: name[0],
      members,
      value,
      canonical: `${aliasType} ${name[0]}=${value}`,
    });
    if (!next) return out;
    sc.i++;
  }
}

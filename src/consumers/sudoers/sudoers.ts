/**
 * sudoers: user specifications, `Defaults`, aliases and includes (`@include`,
 * `#include`, `@includedir`, `#includedir`), with backslash continuations.
 *
 * The parser is a hand-written scanner: every step consumes input, and the
 * few regular expressions are anchored alternatives of fixed words (no
 * nested quantifiers), so time is linear in the input.
 *
 * Includes are followed through an injected reader, so the parser stays
 * pure: bounded depth (8 by default; sudo allows 128), bounded files and
 * characters, cycles reported, sudo's includedir rules (names ending in `~`
 * or containing `.` are skipped, the rest read in sorted order), relative
 * paths resolved against the including file's directory, `%h` replaced by
 * the host name when one is given.
 *
 * Each entry carries its file and line, and a canonical string that ignores
 * spacing: `bob ALL=(ALL) NOPASSWD: ALL`. Each `Defaults` setting is its own
 * entry, so `Defaults env_reset, !authenticate` gives two.
 *
 * @module
 */
import { dirname, isAbsolute, join, normalize } from "node:path/posix";
import { numberedLines, type ParseError, type ParseResult, pushError } from "../parse_result.ts";

/** What every sudoers entry has. */
interface SudoersEntryBase {
  /** Spacing-normalised text, e.g. `bob ALL=(ALL) NOPASSWD: ALL`: the identity used for diffs. */
  canonical: string;
  /** Rules: the users (`alice, %wheel`); aliases: the alias name; Defaults: the setting name; includes: the path. */
  subject: string;
  /** The file the entry is in (an included file for included entries). */
  file: string;
  /** 1-based line number of the entry's first physical line. */
  line: number;
}

/** A Runas specification: `(users:groups)`. */
export interface SudoersRunas {
  users: string[];
  /** Present when a `:` was written, even if empty. */
  groups?: string[];
}

/** One command of a user specification, with what applies to it as written. */
export interface SudoersCommand {
  runas?: SudoersRunas;
  /** Option specs, e.g. `TIMEOUT=10`, `CWD=/tmp`. */
  options: string[];
  /** Tags, e.g. `NOPASSWD`. */
  tags: string[];
  /** The command: `ALL`, `/bin/ls -l`, `!/bin/sh`, `sha256:… /bin/ls`, an alias. */
  command: string;
}

/** The hosts and commands of a user specification (one per `:`-separated part). */
export interface SudoersHostSpec {
  hosts: string[];
  commands: SudoersCommand[];
}

/** A user specification: who may run what, where, as whom. */
export interface SudoersRule extends SudoersEntryBase {
  kind: "rule";
  users: string[];
  specs: SudoersHostSpec[];
}

/** What a `Defaults` line applies to. */
export type SudoersDefaultsScope = "global" | "user" | "host" | "runas" | "command";

/** One `Defaults` setting with its qualifiers. */
export interface SudoersDefault extends SudoersEntryBase {
  kind: "default";
  scope: SudoersDefaultsScope;
  /** The users, hosts, runas users or commands after `:`, `@`, `>` or `!`. */
  qualifiers: string[];
  /** The setting, e.g. `!requiretty`, `env_keep+="LD_PRELOAD"`. */
  setting: string;
}

/** The alias kinds (`Cmd_Alias` is read as `Cmnd_Alias`). */
export type SudoersAliasType = "User_Alias" | "Runas_Alias" | "Host_Alias" | "Cmnd_Alias";

/** One alias definition. */
export interface SudoersAlias extends SudoersEntryBase {
  kind: "alias";
  aliasType: SudoersAliasType;
  /** The members, normalised and joined with `, `. */
  value: string;
  members: string[];
}

/** An include directive (resolved path). */
export interface SudoersInclude extends SudoersEntryBase {
  kind: "include";
  dir: boolean;
  path: string;
}

/**
 * A line bpfink cannot interpret (sudo may still accept it: sudo's grammar
 * is larger than this parser's, and sudo recovers from errors line by
 * line). Kept as an entry, so that adding one is reported, never skipped
 * quietly. `canonical` is the line with its spacing normalised.
 */
export interface SudoersUnparsed extends SudoersEntryBase {
  kind: "unparsed";
  /** Why the line was not interpreted. */
  reason: string;
}

/** One sudoers entry. */
export type SudoersEntry =
  | SudoersRule
  | SudoersDefault
  | SudoersAlias
  | SudoersInclude
  | SudoersUnparsed;

/** What a sudoers entry is. */
export type SudoersKind = SudoersEntry["kind"];

/** Read access for includes; may return undefined or [] for anything unreadable. */
export interface SudoersReader {
  readFile(path: string): string | undefined;
  readDir(path: string): string[];
}

/** The parse result plus every include found (resolved paths, each once). */
export interface SudoersResult extends ParseResult<SudoersEntry> {
  includes: { path: string; dir: boolean }[];
}

/** Options for parsing. */
export interface SudoersOptions {
  /** Follow includes with this reader; without one, includes are only listed. */
  reader?: SudoersReader;
  /** Include nesting at most (default 8, at most 128 like sudo). */
  maxDepth?: number;
  /** Files parsed at most, the first included (default 128). */
  maxFiles?: number;
  /** Characters parsed at most over all files, the first included (default 4 Mi, ~0.6 s). */
  maxTotalChars?: number;
  /** Files listed at most per included directory (default 1024). */
  maxDirEntries?: number;
  /** The short host name, for `%h` in include paths. */
  hostname?: string;
}

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
const INCLUDE = /^[ \t]*[@#](include|includedir)[ \t]+/;
const ALIAS_KEYWORD = /^(User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)[ \t]/;
const TAG =
  /(NOPASSWD|PASSWD|NOEXEC|EXEC|NOSETENV|SETENV|NOLOG_INPUT|LOG_INPUT|NOLOG_OUTPUT|LOG_OUTPUT|NOMAIL|MAIL|NOFOLLOW|FOLLOW|NOINTERCEPT|INTERCEPT)[ \t]*:/y;
const OPTION =
  /(TIMEOUT|CWD|CHROOT|ROLE|TYPE|NOTBEFORE|NOTAFTER|APPARMOR_PROFILE|PRIVS|LIMITPRIVS)[ \t]*=/y;
const DIGEST = /(sha224|sha256|sha384|sha512):/y;
const ALIAS_NAME = /[A-Z][A-Z0-9_]*/y;
const NEXT_ALIAS = /[ \t]*[A-Z][A-Z0-9_]*[ \t]*=/y;
const SETTING = /(!*)[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:([+-]?=)[ \t]*)?/y;

const isBlank = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\v" || c === "\f";

/** Tests a sticky regular expression at `at`, returning the match. */
function stickyAt(re: RegExp, s: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(s);
}

/** A cursor over one logical line. */
class Scanner {
  i = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string {
    return this.s[this.i] ?? "";
  }
  blanks(): void {
    while (this.i < this.s.length && isBlank(this.s[this.i])) this.i++;
  }
  eat(c: string): boolean {
    if (this.s[this.i] !== c) return false;
    this.i++;
    return true;
  }
  sticky(re: RegExp): RegExpExecArray | null {
    const m = stickyAt(re, this.s, this.i);
    if (m) this.i += m[0].length;
    return m;
  }
  /**
   * A word up to a blank or one of `stops`; `\x` escapes and `"…"` quotes
   * are kept as written. In commands and option values sudo reads `"` as a
   * plain character (`quotes` false): `/bin/ec"ho : web = ALL` is two host
   * specifications for sudo, not one quoted word.
   */
  word(stops: string, quotes = true): string {
    const start = this.i;
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === "\\" && this.i + 1 < s.length) {
        this.i += 2;
      } else if (c === '"' && quotes) {
        let j = this.i + 1;
        while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
        this.i = Math.min(j + 1, s.length);
      } else if (isBlank(c) || stops.includes(c)) {
        break;
      } else {
        this.i++;
      }
    }
    return s.slice(start, this.i);
  }
  /** `!`* then a word; `%:` (non-Unix group) keeps its colon. */
  item(stops: string): string | undefined {
    let bangs = "";
    while (this.eat("!")) {
      bangs += "!";
      this.blanks();
    }
    let prefix = "";
    if (this.s.startsWith("%:", this.i)) {
      prefix = "%:";
      this.i += 2;
    }
    const w = this.word(stops);
    return prefix + w === "" ? undefined : bangs + prefix + w;
  }
  /** A comma-separated list of items (blanks allowed around commas). */
  list(stops: string): string[] | undefined {
    const out: string[] = [];
    this.blanks();
    const first = this.item(stops);
    if (first === undefined) return undefined;
    out.push(first);
    for (;;) {
      const save = this.i;
      this.blanks();
      if (!this.eat(",")) {
        this.i = save;
        return out;
      }
      this.blanks();
      const next = this.item(stops);
      if (next === undefined) return undefined;
      out.push(next);
    }
  }
}

/** Collapses runs of blanks outside `\x` escapes and quotes into one space, and trims. */
function squeeze(s: string): string {
  let out = "";
  let blank = false;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (!quoted && isBlank(c)) {
      blank = out.length > 0;
      continue;
    }
    if (blank) out += " ";
    blank = false;
    if (c === "\\" && i + 1 < s.length) {
      out += c + s[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    out += c;
  }
  return out;
}

/** Why a line is not understood (the grammar's failure result, never thrown). */
class Unparsed {
  constructor(readonly reason: string) {}
}

function fail(reason: string): Unparsed {
  return new Unparsed(reason);
}

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
  command += path;
  sc.blanks();
  const start = sc.i;
  while (!sc.done && sc.peek() !== "," && sc.peek() !== ":") sc.i += sc.peek() === "\\" ? 2 : 1;
  sc.i = Math.min(sc.i, sc.s.length);
  const args = squeeze(sc.s.slice(start, sc.i));
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
function parseRule(l: string): Omit<SudoersRule, "file" | "line"> | Unparsed {
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

/** Splits at commas outside quotes and escapes. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** A `Defaults` line: one entry per setting. */
function parseDefaults(l: string): Omit<SudoersDefault, "file" | "line">[] | Unparsed {
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
    const p = part.trim();
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
function parseAliases(
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
    const members = splitTopLevel(s.slice(start, sc.i)).map(squeeze);
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

/**
 * Removes a comment: `#` outside quotes and escapes, unless it is a uid or
 * gid (`#1000`, `%#1000`, `#-1`).
 */
function stripComment(s: string): string {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "#" && !quoted) {
      const d = s[i + 1] ?? "";
      const uid = (d >= "0" && d <= "9") ||
        (d === "-" && (s[i + 2] ?? "") >= "0" && (s[i + 2] ?? "") <= "9");
      if (!uid) return s.slice(0, i);
    }
  }
  return s;
}

/** The path of an include directive: quoted (`"a b"`) or with `\` escapes. */
function includePath(rest: string, hostname: string | undefined): string | undefined {
  let out = "";
  let i = 0;
  const s = rest.trim();
  if (s.startsWith('"')) {
    for (i = 1; i < s.length && s[i] !== '"'; i++) {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      out += s[i];
    }
    if (s[i] !== '"') return undefined;
  } else {
    for (; i < s.length && !isBlank(s[i]); i++) {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      out += s[i];
    }
  }
  if (out === "" || out.includes("\0")) return undefined;
  // %h is the short host name, %% a percent sign; unknown host: left as written.
  return out.replace(/%[h%]/g, (m) => m === "%%" ? "%" : hostname ?? m);
}

/**
 * Physical lines joined at odd trailing backslashes, comments removed;
 * numbered by their first line. Not capped per line: the total is.
 */
function logicalLines(text: string, errors: ParseError[]): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let acc: { line: number; parts: string[] } | undefined;
  for (const l of numberedLines(text, errors)) {
    if (!acc && INCLUDE.test(l.text)) {
      out.push({ line: l.line, text: l.text.trim() });
      continue;
    }
    const body = stripComment(l.text);
    let end = body.length;
    while (end > 0 && isBlank(body[end - 1])) end--;
    let slashes = 0;
    while (slashes < end && body[end - 1 - slashes] === "\\") slashes++;
    const cont = slashes % 2 === 1;
    const part = body.slice(0, cont ? end - 1 : end);
    if (acc) acc.parts.push(part);
    else acc = { line: l.line, parts: [part] };
    if (!cont) {
      out.push({ line: acc.line, text: acc.parts.join(" ") });
      acc = undefined;
    }
  }
  if (acc) out.push({ line: acc.line, text: acc.parts.join(" ") });
  return out;
}

interface ParseState {
  result: SudoersResult;
  opts: SudoersOptions;
  maxDepth: number;
  maxFiles: number;
  maxTotalChars: number;
  maxDirEntries: number;
  files: number;
  chars: number;
  /** The include chain being parsed: a file in it is a cycle. */
  stack: string[];
  includeKeys: Set<string>;
}

function parseLine(
  st: ParseState,
  l: string,
  path: string,
  line: number,
  depth: number,
  errors: ParseError[],
): void {
  const entries = st.result.entries;
  const unparsed = (message: string) => {
    pushError(errors, { line, file: path, message });
    const text = squeeze(l);
    entries.push({
      kind: "unparsed",
      reason: message,
      canonical: text,
      subject: text,
      file: path,
      line,
    });
  };
  const inc = INCLUDE.exec(l);
  if (inc) {
    const dir = inc[1] === "includedir";
    const target = includePath(l.slice(inc[0].length), st.opts.hostname);
    if (target === undefined) return unparsed(`@${inc[1]} without a valid path`);
    const resolved = normalize(isAbsolute(target) ? target : join(dirname(path), target));
    entries.push({
      kind: "include",
      dir,
      path: resolved,
      subject: resolved,
      canonical: `@${inc[1]} ${resolved}`,
      file: path,
      line,
    });
    const key = `${dir ? "d" : "f"}${resolved}`;
    if (!st.includeKeys.has(key)) {
      st.includeKeys.add(key);
      st.result.includes.push({ path: resolved, dir });
    }
    follow(st, resolved, dir, path, line, depth, errors);
    return;
  }
  const t = l.trim();
  if (t === "") return;
  if (t.startsWith("Defaults") && (t.length === 8 || "@:>!".includes(t[8]) || isBlank(t[8]))) {
    const d = parseDefaults(t);
    if (d instanceof Unparsed) unparsed(d.reason);
    else for (const e of d) entries.push({ ...e, file: path, line });
    return;
  }
  const alias = ALIAS_KEYWORD.exec(t);
  if (alias) {
    const a = parseAliases(t, alias[1]);
    if (a instanceof Unparsed) unparsed(a.reason);
    else for (const e of a) entries.push({ ...e, file: path, line });
    return;
  }
  const r = parseRule(t);
  if (r instanceof Unparsed) unparsed(r.reason);
  else entries.push({ ...r, file: path, line });
}

function parseFile(st: ParseState, text: string, path: string, depth: number): void {
  st.files++;
  st.chars += text.length;
  st.stack.push(path);
  const errors: ParseError[] = [];
  for (const { line, text: l } of logicalLines(text, errors)) {
    try {
      parseLine(st, l, path, line, depth, errors);
    } catch {
      // Never reached by design; a parser bug must not stop the file.
      pushError(errors, { line, file: path, message: "internal parser error on this line" });
      st.result.entries.push({
        kind: "unparsed",
        reason: "internal parser error",
        canonical: squeeze(l),
        subject: squeeze(l),
        file: path,
        line,
      });
    }
  }
  st.stack.pop();
  for (const e of errors) pushError(st.result.errors, { ...e, file: e.file ?? path });
}

function follow(
  st: ParseState,
  target: string,
  dir: boolean,
  from: string,
  line: number,
  depth: number,
  errors: ParseError[],
): void {
  const reader = st.opts.reader;
  if (!reader) return;
  const err = (message: string) => pushError(errors, { line, file: from, message });
  const readOne = (p: string) => {
    if (st.stack.includes(p)) return err(`include cycle: ${p} includes itself`);
    if (depth + 1 > st.maxDepth) {
      return err(`includes nested deeper than ${st.maxDepth}: ${p} skipped`);
    }
    if (st.files >= st.maxFiles) return err(`more than ${st.maxFiles} files: ${p} skipped`);
    let body: string | undefined;
    try {
      body = reader.readFile(p);
    } catch {
      body = undefined;
    }
    if (typeof body !== "string") return err(`cannot read included ${p}`);
    if (st.chars + body.length > st.maxTotalChars) {
      return err(`more than ${st.maxTotalChars} characters in all files: ${p} skipped`);
    }
    parseFile(st, body, p, depth + 1);
  };
  if (!dir) return readOne(target);
  let names: string[];
  try {
    const listed = reader.readDir(target);
    names = Array.isArray(listed) ? listed.filter((n) => typeof n === "string") : [];
  } catch {
    names = [];
  }
  names = names.filter((n) =>
    n !== "" && !sudoSkipsInDir(n) && !n.includes("/") && !n.includes("\0")
  ).sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  if (names.length > st.maxDirEntries) {
    err(`more than ${st.maxDirEntries} files in ${target}: the rest skipped`);
    names = names.slice(0, st.maxDirEntries);
  }
  for (const n of names) readOne(join(target, n));
}

/**
 * True for a file name sudo's `@includedir` skips: one ending in `~` or
 * holding a `.` (editor backups, `.dpkg-old`, `README.md`). An explicit
 * `@include` of such a file is still read.
 */
export function sudoSkipsInDir(name: string): boolean {
  return name.endsWith("~") || name.includes(".");
}

/**
 * Parses sudoers `text` read from `file`, following includes when a reader
 * is given. Never throws: malformed lines become errors with file and line.
 */
export function parseSudoers(text: string, file: string, opts: SudoersOptions = {}): SudoersResult {
  const bound = (v: number | undefined, dflt: number, max: number) =>
    Math.max(0, Math.min(max, Number.isFinite(v) ? Math.floor(v!) : dflt));
  const st: ParseState = {
    result: { entries: [], errors: [], includes: [] },
    opts,
    maxDepth: bound(opts.maxDepth, 8, 128),
    maxFiles: bound(opts.maxFiles, 128, 100_000),
    maxTotalChars: bound(opts.maxTotalChars, 4 * 1024 * 1024, 1 << 30),
    maxDirEntries: bound(opts.maxDirEntries, 1024, 1_000_000),
    files: 0,
    chars: 0,
    stack: [],
    includeKeys: new Set(),
  };
  const path = normalize(file);
  let body = text;
  if (body.length > st.maxTotalChars) {
    // Cut at a line end: a cut line could read as a different rule.
    body = body.slice(0, Math.max(0, body.lastIndexOf("\n", st.maxTotalChars)));
    pushError(st.result.errors, {
      line: 0,
      file: path,
      message: `more than ${st.maxTotalChars} characters: the rest is ignored`,
    });
  }
  parseFile(st, body, path, 0);
  return st.result;
}

/**
 * sudoers: user specifications, `Defaults`, aliases and includes (`@include`,
 * `#include`, `@includedir`, `#includedir`), with backslash continuations.
 *
 * The parser is a hand-written scanner (`_scanner.ts`: logical lines, a
 * cursor) under a grammar (`_grammar.ts`): every step consumes input, and the
 * few regular expressions are anchored alternatives of fixed words (no
 * nested quantifiers), so time is linear in the input. The entry types are
 * in `sudoers_types.ts`; this file walks files and includes.
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
import { MAX_TEXT_CHARS, type ParseError, pushError } from "../parse_result.ts";
import { isBlank, type LogicalLine, logicalLines, squeeze, trimBlanks } from "./_scanner.ts";
import { ALIAS_KEYWORD, parseAliases, parseDefaults, parseRule, Unparsed } from "./_grammar.ts";
import { expandInclude, sudoSkipsInDir } from "./_includes.ts";
import type { SudoersOptions, SudoersResult } from "./sudoers_types.ts";

export * from "./sudoers_types.ts";
export { sudoSkipsInDir } from "./_includes.ts";

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
  ll: LogicalLine,
  path: string,
  depth: number,
  errors: ParseError[],
): void {
  const { line, text: l } = ll;
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
  const inc = ll.include;
  if (inc) {
    const dir = inc.dir;
    const keyword = dir ? "@includedir" : "@include";
    if (inc.path === undefined) return unparsed(`${keyword} without a valid path: ${ll.error}`);
    // sudo still reads the path of a directive followed by other text (its parser recovers).
    if (ll.error) pushError(errors, { line, file: path, message: ll.error });
    const target = expandInclude(inc.path, st.opts.hostname);
    const resolved = normalize(isAbsolute(target) ? target : join(dirname(path), target));
    entries.push({
      kind: "include",
      dir,
      path: resolved,
      subject: resolved,
      canonical: `${keyword} ${resolved}`,
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
  // sudo reports a syntax error; the line grants nothing, but adding it is still reported.
  if (ll.error) return unparsed(ll.error);
  const t = trimBlanks(l);
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
  for (const ll of logicalLines(text, errors)) {
    const { line, text: l } = ll;
    try {
      parseLine(st, ll, path, depth, errors);
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
    // A file handed whole is parsed whole (parse_result.ts: MAX_PARSE_BYTES).
    maxTotalChars: bound(opts.maxTotalChars, MAX_TEXT_CHARS, 1 << 30),
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

/**
 * sudoers: user specifications, Defaults, aliases and includes (`@include`,
 * `#include`, `@includedir`, `#includedir`), with backslash continuations.
 * Includes are followed through an injected reader, so the parser stays pure:
 * bounded depth, bounded file count, cycles detected, sudo's includedir rules
 * (skip names ending in `~` or containing `.`).
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { numberedLines, type ParseError, type ParseResult, pushError } from "./parse_result.ts";

/** What a sudoers entry is. */
export type SudoersKind = "rule" | "default" | "alias" | "include";

/** One entry, identified by its canonical text. */
export interface SudoersEntry {
  kind: SudoersKind;
  /** Whitespace-normalised text, e.g. `bob ALL=(ALL) NOPASSWD: ALL`. */
  canonical: string;
  /** For rules: the users (first field); for aliases: the alias name. */
  subject: string;
  /** For aliases: `User_Alias`, `Cmnd_Alias`, ... */
  aliasType?: string;
  /** For aliases: the members, normalised. */
  value?: string;
  file: string;
  line: number;
}

/** Read access for includes. */
export interface SudoersReader {
  readFile(path: string): string | undefined;
  readDir(path: string): string[];
}

/** The parse result plus every include found (resolved paths). */
export interface SudoersResult extends ParseResult<SudoersEntry> {
  includes: { path: string; dir: boolean }[];
}

/** Options for parsing. */
export interface SudoersOptions {
  /** Follow includes with this reader; without one, includes are only listed. */
  reader?: SudoersReader;
  /** Include depth at most (sudo allows 128; we stop earlier). */
  maxDepth?: number;
  /** Files read at most, includes included. */
  maxFiles?: number;
}

const ALIAS = /^(User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)\s+(.*)$/;
const INCLUDE = /^[@#](include|includedir)\s+(.+)$/;

const TAGS =
  /\b(NOPASSWD|PASSWD|NOEXEC|EXEC|SETENV|NOSETENV|LOG_INPUT|NOLOG_INPUT|LOG_OUTPUT|NOLOG_OUTPUT|MAIL|NOMAIL|FOLLOW|NOFOLLOW|INTERCEPT|NOINTERCEPT)\s*:\s*/g;

/** Canonical spacing: one space between words, none around `=` and `:`, `, ` in lists, `TAG: `. */
function normalise(s: string): string {
  return s.trim().replace(/\s+/g, " ").replace(/\s*,\s*/g, ", ").replace(/\s*=\s*/g, "=")
    .replace(/\s*:\s*/g, ":").replace(TAGS, "$1: ");
}

/** Joins backslash-continued lines; each logical line keeps its first line number. */
function logicalLines(text: string, errors: ParseError[]): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let acc: { line: number; text: string } | undefined;
  for (const l of numberedLines(text, errors)) {
    const cont = /(^|[^\\])\\$/.test(l.text);
    const body = cont ? l.text.slice(0, -1) : l.text;
    if (acc) acc.text += " " + body;
    else acc = { line: l.line, text: body };
    if (acc.text.length > 256 * 1024) {
      pushError(errors, { line: acc.line, message: "continued line too long: ignored" });
      acc = undefined;
      continue;
    }
    if (!cont) {
      out.push(acc);
      acc = undefined;
    }
  }
  if (acc) out.push(acc);
  return out;
}

/** Removes a comment: `#` at a token start and not followed by a digit (`#1000` is a uid). */
function stripComment(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "#") continue;
    if (i > 0 && !/[\s,=(:!]/.test(s[i - 1])) continue;
    if (/\d/.test(s[i + 1] ?? "")) continue;
    return s.slice(0, i);
  }
  return s;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"')
    ? t.slice(1, -1).replace(/\\(.)/g, "$1")
    : t;
}

/**
 * Splits a user specification into its user list and the rest, in one linear
 * scan: the list ends at the first blank that neither follows nor precedes a
 * comma. (A regex with nested quantifiers here backtracked exponentially on
 * `a,a,a,…`.) Returns [whole, users, rest] like a RegExp match, or null.
 */
function splitUserSpec(l: string): [string, string, string] | null {
  let i = 0;
  while (i < l.length) {
    if (/\s/.test(l[i])) {
      let j = i;
      while (j < l.length && /\s/.test(l[j])) j++;
      if (l[i - 1] !== "," && l[j] !== ",") {
        const rest = l.slice(j);
        return rest.includes("=") && i > 0 ? [l, l.slice(0, i), rest] : null;
      }
      i = j;
    } else i++;
  }
  return null;
}

/** Parses sudoers `text` (from `file`), following includes when a reader is given. */
export function parseSudoers(text: string, file: string, opts: SudoersOptions = {}): SudoersResult {
  const result: SudoersResult = { entries: [], errors: [], includes: [] };
  const maxDepth = opts.maxDepth ?? 8;
  const maxFiles = opts.maxFiles ?? 128;
  const visited = new Set<string>();
  let files = 0;

  const parseOne = (body: string, path: string, depth: number): void => {
    files++;
    visited.add(path);
    const errors: ParseError[] = [];
    for (const { line, text: raw } of logicalLines(body, errors)) {
      const trimmed = raw.trim();
      const inc = INCLUDE.exec(trimmed);
      if (inc) {
        const target = unquote(inc[2]);
        const resolved = isAbsolute(target) ? target : join(dirname(path), target);
        const dir = inc[1] === "includedir";
        result.includes.push({ path: resolved, dir });
        result.entries.push({
          kind: "include",
          canonical: `@${inc[1]} ${resolved}`,
          subject: resolved,
          file: path,
          line,
        });
        follow(resolved, dir, depth, path, line);
        continue;
      }
      const l = stripComment(trimmed).trim();
      if (l === "") continue;
      if (/^Defaults([:@>!]|\s|$)/.test(l)) {
        result.entries.push({
          kind: "default",
          canonical: normalise(l),
          subject: "Defaults",
          file: path,
          line,
        });
        continue;
      }
      const alias = ALIAS.exec(l);
      if (alias) {
        for (const def of alias[2].split(/\s*:\s*(?=[A-Z][A-Z0-9_]*\s*=)/)) {
          const m = /^([A-Z][A-Z0-9_]*)\s*=\s*(.+)$/.exec(def.trim());
          if (!m) {
            pushError(errors, {
              line,
              message: `${alias[1]}: expected NAME = members`,
              file: path,
            });
            continue;
          }
          const value = normalise(m[2]);
          result.entries.push({
            kind: "alias",
            aliasType: alias[1],
            subject: m[1],
            value,
            canonical: `${alias[1]} ${m[1]}=${value}`,
            file: path,
            line,
          });
        }
        continue;
      }
      const m = splitUserSpec(l);
      if (!m) {
        pushError(errors, {
          line,
          message: "not a user specification, Defaults, alias or include",
          file: path,
        });
        continue;
      }
      result.entries.push({
        kind: "rule",
        canonical: normalise(l),
        subject: normalise(m[1]),
        file: path,
        line,
      });
    }
    for (const e of errors) pushError(result.errors, { ...e, file: e.file ?? path });
  };

  const follow = (
    target: string,
    dir: boolean,
    depth: number,
    from: string,
    line: number,
  ): void => {
    const reader = opts.reader;
    if (!reader) return;
    const readFile = (p: string) => {
      if (visited.has(p)) {
        pushError(result.errors, {
          line,
          file: from,
          message: `include cycle: ${p} is already included`,
        });
        return;
      }
      if (depth + 1 > maxDepth) {
        pushError(result.errors, {
          line,
          file: from,
          message: `includes nested deeper than ${maxDepth}: ${p} skipped`,
        });
        return;
      }
      if (files >= maxFiles) {
        pushError(result.errors, {
          line,
          file: from,
          message: `more than ${maxFiles} files included: ${p} skipped`,
        });
        return;
      }
      const body = reader.readFile(p);
      if (body === undefined) {
        pushError(result.errors, { line, file: from, message: `cannot read included ${p}` });
        return;
      }
      parseOne(body, p, depth + 1);
    };
    if (!dir) return readFile(target);
    const names = reader.readDir(target).filter((n) => !n.endsWith("~") && !n.includes(".")).sort();
    for (const n of names) readFile(join(target, n));
  };

  parseOne(text, file, 0);
  return result;
}

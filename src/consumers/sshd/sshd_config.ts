/**
 * sshd_config, one file at a time, read the way sshd's config reader splits
 * a line (sshd_config(5); OpenSSH's `strdelim` and `argv_split`): trailing
 * blanks and form feeds dropped; a keyword ended by a blank, a `"` or one
 * `=`; a `#` keyword is a comment; the arguments split at blanks, with
 * single or double quotes and backslash escapes, and a `#` starting an
 * argument ending the line. `Match` starts a block that holds until the
 * next `Match` or the end of the file; `Include` names more files
 * (relative ones under /etc/ssh), watched too.
 *
 * `sshd_differential_test.ts` holds it against `sshd -T`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { IncludedPath } from "../consumer.ts";
import type { ParseError, ParseResult } from "../parse_result.ts";

/** One directive. */
export interface SshdDirective {
  /** 1-based line number. */
  line: number;
  /** The keyword, lower-cased (sshd compares keywords without case). */
  keyword: string;
  /** Its arguments, unquoted. */
  args: string[];
  /** The `Match` criteria it sits under, joined by blanks (see matchName); "" for the global part. */
  match: string;
  /**
   * Whether an earlier global line of this file already set the keyword, so
   * that this one has no effect (sshd keeps the first value it reads).
   * Only for keywords that take one value; never under `Match`.
   */
  shadowed?: number;
}

/** What the file includes, for watching: a file, or a directory a pattern reads from. */
export type SshdInclude = IncludedPath;

/** Where sshd resolves a relative `Include`. */
export const SSHD_CONFIG_DIR = "/etc/ssh";

/** Keywords whose every line adds to the value (sshd does not keep only the first). */
const ACCUMULATING = new Set([
  "allowusers",
  "allowgroups",
  "denyusers",
  "denygroups",
  "acceptenv",
  "hostkey",
  "hostcertificate",
  "listenaddress",
  "port",
  "subsystem",
  "include",
  "match",
  "setenv",
]);

const BLANKS = " \t\r\n";

/** `s` without the blanks and form feeds at its end (a loop: a regex would be quadratic on a run of blanks). */
function withoutTrailing(s: string): string {
  let end = s.length;
  while (end > 0 && (BLANKS.includes(s[end - 1]) || s[end - 1] === "\f")) end--;
  return s.slice(0, end);
}

/**
 * One token as OpenSSH's `strdelim` takes it from `line` at `at` (misc.c,
 * with `=` splitting): up to a blank, a `"` or a `=`; from a `"`, the quote
 * dropped and the token going on to the next `"` (undefined when none);
 * then the blanks after it and, when it did not end at a `=`, one `=` with
 * its blanks. `next` is where the rest of the line starts. A token may be
 * empty: a line that starts with `=` gives "" first.
 */
function strdelim(line: string, at: number): { token: string; next: number } | undefined {
  if (at >= line.length) return undefined;
  let i = at;
  while (i < line.length && !BLANKS.includes(line[i]) && line[i] !== '"' && line[i] !== "=") i++;
  if (i >= line.length) return { token: line.slice(at), next: line.length };
  const skipBlanks = (k: number) => {
    while (k < line.length && BLANKS.includes(line[k])) k++;
    return k;
  };
  if (line[i] === '"') {
    const close = line.indexOf('"', i + 1);
    if (close < 0) return undefined;
    return { token: line.slice(at, i) + line.slice(i + 1, close), next: skipBlanks(close + 1) };
  }
  const token = line.slice(at, i);
  let next = skipBlanks(i + 1);
  if (line[i] !== "=" && line[next] === "=") next = skipBlanks(next + 1);
  return { token, next };
}

/**
 * The keyword and the rest of the line, as sshd takes them: the first
 * token, or the second when the first is empty (`=PermitRootLogin yes` and
 * `"PermitRootLogin" yes` set it for sshd -T, OpenSSH 9.2); none for a
 * comment or an empty line.
 */
function keywordOf(line: string): { keyword: string; rest: string } | undefined {
  let kw = strdelim(line, 0);
  if (kw?.token === "") kw = strdelim(line, kw.next);
  if (!kw || kw.token === "" || kw.token.startsWith("#")) return undefined;
  return { keyword: kw.token, rest: line.slice(kw.next) };
}

/** The arguments (misc.c `argv_split`, a comment ending the line); undefined for an open quote. */
function argsOf(rest: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < rest.length) {
    while (i < rest.length && (rest[i] === " " || rest[i] === "\t")) i++;
    if (i >= rest.length || rest[i] === "#") break;
    let arg = "";
    let quote = "";
    for (; i < rest.length; i++) {
      const c = rest[i];
      if (quote === "" && (c === " " || c === "\t")) break;
      if (c === "\\") {
        const n = rest[i + 1];
        if (n === "'" || n === '"' || n === "\\" || (quote === "" && n === " ")) {
          arg += n;
          i++;
        } else {
          arg += c;
        }
      } else if (quote !== "" && c === quote) {
        quote = "";
      } else if (quote === "" && (c === '"' || c === "'")) {
        quote = c;
      } else {
        arg += c;
      }
    }
    if (quote !== "") return undefined;
    out.push(arg);
  }
  return out;
}

/** Longest Match criteria kept as written; a longer one is cut and named by its digest. */
const MAX_MATCH = 256;

/**
 * The name of a Match block: its criteria, or, past MAX_MATCH characters,
 * their start and SHA-256 (every line of the block carries it, and keys
 * built from a 100,000-character criteria made a diff quadratic).
 */
function matchName(criteria: string): string {
  if (criteria.length <= MAX_MATCH) return criteria;
  const digest = createHash("sha256").update(criteria).digest("hex").slice(0, 16);
  return `${criteria.slice(0, MAX_MATCH - 40)}… (sha256 ${digest})`;
}

/** The file or directory an `Include` pattern reads. */
function includeOf(pattern: string): SshdInclude {
  const path = pattern.startsWith("/") ? pattern : `${SSHD_CONFIG_DIR}/${pattern}`;
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  return /[*?[]/.test(name)
    ? { path: path.slice(0, slash) || "/", dir: true, include: [name] }
    : { path, dir: false };
}

/**
 * The lines sshd parses from `text`, each numbered by its first physical
 * line. sshd's reader (`load_server_config`) keeps a physical line from its
 * first character that is not a blank or a carriage return up to its first
 * NUL, its newline only when it held no NUL: a NUL joins the next line to
 * what came before it (`PermitRootLogin\0x` then ` yes` is `PermitRootLogin
 * yes` for sshd -T, OpenSSH 9.2).
 */
export function sshdLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const physical = text.split("\n");
  // A final newline ends the last line; it starts none.
  if (physical.at(-1) === "") physical.pop();
  let acc: { line: number; text: string } | undefined;
  for (const [i, raw] of physical.entries()) {
    const kept = raw.replace(/^[ \t\r]+/, "");
    const nul = kept.indexOf("\0");
    acc ??= { line: i + 1, text: "" };
    acc.text += nul >= 0 ? kept.slice(0, nul) : kept;
    if (nul < 0) {
      out.push(acc);
      acc = undefined;
    }
  }
  if (acc) out.push(acc);
  return out;
}

/** The directives of one sshd_config file and the files it includes. */
export function parseSshdConfig(
  text: string,
): ParseResult<SshdDirective> & { includes: SshdInclude[] } {
  const entries: SshdDirective[] = [];
  const errors: ParseError[] = [];
  const includes: SshdInclude[] = [];
  const firstGlobal = new Map<string, number>();
  let match = "";
  for (const { line: lineNo, text: read } of sshdLines(text)) {
    const line = withoutTrailing(read);
    const kw = keywordOf(line);
    if (!kw) continue;
    const args = argsOf(kw.rest);
    if (args === undefined) {
      errors.push({ line: lineNo, message: "unclosed quote: sshd refuses the file" });
      continue;
    }
    if (args.length === 0) {
      errors.push({ line: lineNo, message: "keyword without an argument: sshd refuses the file" });
      continue;
    }
    const keyword = kw.keyword.toLowerCase();
    if (keyword === "match") {
      match = matchName(args.join(" "));
      entries.push({ line: lineNo, keyword, args, match: "" });
      continue;
    }
    const d: SshdDirective = { line: lineNo, keyword, args, match };
    if (match === "" && !ACCUMULATING.has(keyword)) {
      const first = firstGlobal.get(keyword);
      if (first === undefined) firstGlobal.set(keyword, lineNo);
      else d.shadowed = first;
    }
    if (keyword === "include") includes.push(...args.map(includeOf));
    entries.push(d);
  }
  return { entries, errors, includes };
}

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

/** The keyword and the rest of the line (sshd's `strdelim` with `=` splitting). */
function keywordOf(line: string): { keyword: string; rest: string } | undefined {
  let i = 0;
  while (i < line.length && BLANKS.includes(line[i])) i++;
  const start = i;
  while (i < line.length && !BLANKS.includes(line[i]) && line[i] !== '"' && line[i] !== "=") i++;
  const keyword = line.slice(start, i);
  if (keyword === "" || keyword.startsWith("#")) return undefined;
  if (line[i] === '"') return { keyword, rest: line.slice(i) };
  // One `=` with blanks around it may separate the keyword from its arguments.
  let sawEquals = line[i] === "=";
  i++;
  while (i < line.length && BLANKS.includes(line[i])) i++;
  if (!sawEquals && line[i] === "=") {
    sawEquals = true;
    i++;
    while (i < line.length && BLANKS.includes(line[i])) i++;
  }
  return { keyword, rest: line.slice(i) };
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

/** The directives of one sshd_config file and the files it includes. */
export function parseSshdConfig(
  text: string,
): ParseResult<SshdDirective> & { includes: SshdInclude[] } {
  const entries: SshdDirective[] = [];
  const errors: ParseError[] = [];
  const includes: SshdInclude[] = [];
  const firstGlobal = new Map<string, number>();
  let match = "";
  let lineNo = 0;
  for (const raw of text.split("\n")) {
    lineNo++;
    const nul = raw.indexOf("\0");
    const line = withoutTrailing(nul >= 0 ? raw.slice(0, nul) : raw);
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

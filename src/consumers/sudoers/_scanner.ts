/**
 * The lexical layer of the sudoers parser: logical lines (continuations
 * joined, comments removed) and a cursor over one of them. Linear: every
 * step consumes input.
 *
 * @module
 */
import { numberedLines, type ParseError } from "../parse_result.ts";
import { includeArgument, includeKeyword } from "./_includes.ts";

/**
 * sudo's blanks (`[[:blank:]]`): a space or a tab. A vertical tab, form
 * feed, carriage return or Unicode space is part of a word for sudo (or a
 * syntax error), never a separator.
 */
export const isBlank = (c: string) => c === " " || c === "\t";

/** `s` without leading and trailing blanks (unlike `trim`, which also strips a BOM). */
export function trimBlanks(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isBlank(s[a])) a++;
  while (b > a && isBlank(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Tests a sticky regular expression at `at`, returning the match. */
export function stickyAt(re: RegExp, s: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(s);
}

/** A cursor over one logical line. */
export class Scanner {
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
  /**
   * `!`* then a word; `%:` (non-Unix group) keeps its colon. A `!` ends the
   * word, as in sudo's lexer: `carol! web1` is user `carol` on host `!web1`.
   */
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
    const w = this.word(stops + "!");
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

/**
 * Collapses runs of blanks outside `\x` escapes (and quotes, unless
 * `quotes` is false: in a command's arguments sudo reads `"` as a plain
 * character, and `/bin/echo "a  b"` is `/bin/echo "a b"`), and trims.
 */
export function squeeze(s: string, quotes = true): string {
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
    if (c === '"' && quotes) quoted = !quoted;
    out += c;
  }
  return out;
}

/**
 * Where sudo's lexer is at a point of a line: inside a `"…"` string, in a
 * command's arguments, or neither. In a command's arguments (from a word
 * that starts with `/` to the next `,` or `:`) `"` is a plain character
 * and `#` starts a comment; in a string `#` is a plain character.
 */
interface LexState {
  quoted: boolean;
  command: boolean;
}

/** Characters after which a `/` starts a command (a word of its own). */
const BEFORE_COMMAND = new Set([" ", "\t", "=", ",", ":", "!", ")"]);

/**
 * Reads `s` from `state` as sudo's lexer reads quotes and comments; the
 * index of the `#` that starts a comment (-1: none) and the state at the
 * end. `commands`: whether the line can hold commands (a Defaults line's
 * values are not commands: there `"` always quotes). A `#` before digits
 * (`#1000`, `%#1000`, `#-1`) is a uid or gid, not a comment.
 */
function lex(s: string, state: LexState, commands: boolean): { comment: number; end: LexState } {
  let { quoted, command } = state;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") {
      i++;
    } else if (quoted) {
      if (c === '"') quoted = false;
    } else if (command) {
      if (c === "," || c === ":") command = false;
      else if (c === "#") return { comment: i, end: { quoted, command } };
    } else if (c === '"') {
      quoted = true;
    } else if (c === "/" && commands && (i === 0 || BEFORE_COMMAND.has(s[i - 1]))) {
      command = true;
    } else if (c === "#") {
      const d = s[i + 1] ?? "";
      const uid = (d >= "0" && d <= "9") ||
        (d === "-" && (s[i + 2] ?? "") >= "0" && (s[i + 2] ?? "") <= "9");
      if (!uid) return { comment: i, end: { quoted, command } };
    }
  }
  return { comment: -1, end: { quoted, command } };
}

/** A Defaults line (its values are settings, never commands). */
const DEFAULTS = /^[ \t]*Defaults(?![A-Za-z0-9_])/;

/** One logical line: physical lines joined at continuations, comments removed. */
export interface LogicalLine {
  /** The number of its first physical line. */
  line: number;
  text: string;
  /** An include directive: whether of a directory, and its path (unexpanded) when it has one. */
  include?: { dir: boolean; path?: string };
  /** A syntax error sudo reports on this line (with an include path: sudo still reads it). */
  error?: string;
}

/**
 * A physical line as sudo's lexer reads it: up to its first NUL. sudo reads
 * each line into a C string, so what follows a NUL on that line is gone
 * (the newline is not: the next line is a line of its own, and a
 * continuation before the NUL still joins). Checked with cvtsudoers 1.9.13.
 */
function cutAtNul<T extends { text: string }>(l: T): T {
  const nul = l.text.indexOf("\0");
  return nul < 0 ? l : { ...l, text: l.text.slice(0, nul) };
}

/**
 * Physical lines joined at odd trailing backslashes, comments removed;
 * numbered by their first line. Not capped per line: the total is. An
 * include directive is read as sudo's lexer reads it (`includeArgument`); a
 * continuation at the end of the file is a syntax error for sudo.
 */
export function logicalLines(text: string, errors: ParseError[]): LogicalLine[] {
  const out: LogicalLine[] = [];
  // A continuation is a blank between words, and nothing inside quotes (as sudo's lexer reads it);
  // where the lexer is (in quotes, in a command) carries over to the next physical line.
  let acc: { line: number; text: string; state: LexState; commands: boolean } | undefined;
  const lines = numberedLines(text, errors);
  const next = () => {
    const n = lines.next();
    return n.done ? undefined : n.value.text;
  };
  for (let n = lines.next(); !n.done; n = lines.next()) {
    const l = cutAtNul(n.value);
    const inc = acc ? undefined : includeKeyword(l.text);
    if (inc) {
      const arg = includeArgument(l.text, inc.at, next);
      out.push({
        line: l.line,
        text: trimBlanks(arg.text),
        include: { dir: inc.dir, ...(arg.path !== undefined ? { path: arg.path } : {}) },
        ...(arg.error ? { error: arg.error } : {}),
      });
      continue;
    }
    const state = acc?.state ?? { quoted: false, command: false };
    const commands = acc?.commands ?? !DEFAULTS.test(l.text);
    const { comment, end: after } = lex(l.text, state, commands);
    const body = comment < 0 ? l.text : l.text.slice(0, comment);
    let end = body.length;
    while (end > 0 && isBlank(body[end - 1])) end--;
    let slashes = 0;
    while (slashes < end && body[end - 1 - slashes] === "\\") slashes++;
    const cont = slashes % 2 === 1;
    const part = body.slice(0, cont ? end - 1 : end);
    if (acc) acc.text += (acc.state.quoted ? "" : " ") + part;
    else acc = { line: l.line, text: part, state, commands };
    acc.state = after;
    if (!cont) {
      out.push({ line: acc.line, text: acc.text });
      acc = undefined;
    }
  }
  if (acc) {
    out.push({ line: acc.line, text: acc.text, error: "line continuation at the end of the file" });
  }
  return out;
}

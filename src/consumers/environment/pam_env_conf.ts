/**
 * /etc/security/pam_env.conf by meaning: the variables pam_env sets in every
 * session it runs for (Debian's sshd, login, su and cron PAM services), as
 * it reads its configuration file, not /etc/environment's `NAME=value`
 * form. A line is `NAME [DEFAULT=value] [OVERRIDE=value]`; a line whose
 * first character that is not blank is `#` is none, and a `#` elsewhere ends
 * the line; a `\` last (before blanks) joins the next line, comment and
 * blank lines skipped. A value is up to a blank, or a quoted string that
 * must end where the value does. A non-empty OVERRIDE is the value, else
 * DEFAULT (`DEFAULT=""` the empty string); a name with neither is unset.
 * Any other word makes the line nothing. `${VAR}` and `@{ITEM}` expand when
 * the session starts: such a value is kept as written (it names no one
 * file). A line that starts with a blank names no variable, nor does one
 * with a blank before its `#`; a name holding `=` (`X=v`) sets `X`. A file
 * that ends inside a `\` continuation makes pam_env fail every session it
 * runs for: read as setting nothing. `environment_differential_test.ts`
 * holds this against pam_env, through su.
 *
 * @module
 */
import { type EnvVariable, secretValue } from "./env_variable.ts";

/** Most variables kept of a file. */
const MAX_VARIABLES = 4096;

const blank = (c: string | undefined) => c === " " || c === "\t" || c === "\n";

/** The logical lines of the file, as pam_env assembles them, each with its first line's number. */
function assembledLines(text: string): { text: string; line: number }[] | undefined {
  const out: { text: string; line: number }[] = [];
  const lines = text.split("\n");
  let buf: string | undefined;
  let first = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] + (i < lines.length - 1 ? "\n" : "");
    let start = 0;
    while (blank(l[start])) start++;
    // Blank, or a comment: nothing, also between continued lines.
    if (start === l.length || l[start] === "#") continue;
    if (buf === undefined) first = i + 1;
    const hash = l.indexOf("#");
    if (hash >= 0) {
      out.push({ text: (buf ?? "") + l.slice(0, hash), line: first });
      buf = undefined;
      continue;
    }
    let end = l.length;
    while (end > 0 && blank(l[end - 1])) end--;
    if (l[end - 1] === "\\") {
      buf = (buf ?? "") + l.slice(0, end - 1);
      continue;
    }
    out.push({ text: (buf ?? "") + l, line: first });
    buf = undefined;
  }
  // A `\` continued past the file's end: pam_env fails the session (PAM_ABORT).
  return buf === undefined ? out : undefined;
}

/** One line's name, DEFAULT and OVERRIDE ("": the empty string); undefined: a bad line. */
function parseLine(line: string): { name: string; defval?: string; override?: string } | undefined {
  const wordEnd = (from: number) => {
    let e = from;
    while (e < line.length && !blank(line[e])) e++;
    return e;
  };
  let at = wordEnd(0);
  const r: { name: string; defval?: string; override?: string } = { name: line.slice(0, at) };
  let quoteflg = 0;
  for (;;) {
    const from = at;
    while (line[at] === " " || line[at] === "\t") at++;
    if (at === from) break;
    let key: "defval" | "override";
    if (line.startsWith("DEFAULT=", at)) {
      key = "defval";
      at += 8;
    } else if (line.startsWith("OVERRIDE=", at)) {
      key = "override";
      at += 9;
    } else return undefined;
    let value: string;
    if (line[at] !== '"') {
      const end = wordEnd(at);
      value = line.slice(at, end);
      at = end;
    } else {
      const close = line.indexOf('"', at + 1);
      if (close < 0) return undefined;
      value = line.slice(at + 1, close);
      at = close + 1;
      if (at < line.length && !blank(line[at])) return undefined;
      quoteflg++;
    }
    if (value.length) r[key] = value;
    // pam_env's own count: an empty value is the empty string while it is not 0, and it
    // goes down each time it is asked (an unquoted empty value takes it below 0).
    else if (quoteflg-- !== 0) r[key] = "";
  }
  return r;
}

/** The variables pam_env.conf sets (see the module's doc), in the order first set. */
export function parsePamEnvConf(
  text: string,
  fingerprint: (secret: string) => string,
): EnvVariable[] {
  const out = new Map<string, EnvVariable>();
  for (const { text: l, line } of assembledLines(text) ?? []) {
    const p = parseLine(l);
    if (!p || p.name === "") continue;
    const value = p.override !== undefined && p.override !== "" ? p.override : p.defval;
    // pam_putenv splits at the first `=`: `NAME=x DEFAULT=v` sets NAME to `x=v`, and `NAME=x`
    // alone (which unsets a plain name) sets NAME to `x`.
    const eq = p.name.indexOf("=");
    const name = eq < 0 ? p.name : p.name.slice(0, eq);
    if (value === undefined && eq < 0) {
      out.delete(name);
      continue;
    }
    if (name === "") continue;
    const set = eq < 0 ? value! : p.name.slice(eq + 1) + (value === undefined ? "" : `=${value}`);
    // Set again: the later value, in the place first set.
    if (out.has(name) || out.size < MAX_VARIABLES) {
      out.set(name, { name, line, ...secretValue(name, set, fingerprint) });
    }
  }
  return [...out.values()];
}

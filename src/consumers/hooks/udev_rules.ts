/**
 * udev rules' commands: a rule's `RUN+="..."` (or `RUN{program}`, `=`,
 * `:=`) runs its program as root after a device event the rule matches,
 * `PROGRAM=="..."` runs one to match, `IMPORT{program}="..."` one whose
 * output sets the device's properties (udev(7)). A program named without a
 * `/` is udev's own, in `/usr/lib/udev` (`/lib/udev` before merged /usr).
 * A rule is `KEY[{ATTR}]OP"VALUE"` pairs separated by commas; lines are
 * joined by a trailing `\`; `#` starts a comment line. `RUN{builtin}` runs
 * udev's own code, nothing of a file.
 *
 * @module
 */
import type { HookCommand, HookFormat } from "./hook_consumer.ts";
import { continuedLines } from "../_continued_lines.ts";
import type { ParseError } from "../parse_result.ts";

/** One `KEY{ATTR}OP"VALUE"` pair: its key, attribute, operator and value (quotes removed). */
interface Pair {
  key: string;
  attr?: string;
  op: string;
  value: string;
  /** As written. */
  text: string;
}

/** The pairs of a rule line; undefined when a pair cannot be read (udev skips the line). */
function pairs(line: string): Pair[] | undefined {
  const out: Pair[] = [];
  const re =
    /\s*([A-Za-z_]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*(e?)"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let i = 0;
  while (i < line.length) {
    re.lastIndex = i;
    const m = re.exec(line);
    if (!m || m[0].length === 0) return undefined;
    const [, key, attr, op, e, value, sep] = m;
    const text = `${key}${attr === undefined ? "" : `{${attr}}`}${op}${e}"${value}"`;
    out.push({ key, attr, op, value, text });
    i = re.lastIndex;
    if (sep === "") break;
  }
  return out;
}

/** Whether `p` runs a program (see the module's doc). */
function runsProgram(p: Pair): boolean {
  if (p.key === "RUN") {
    return (p.attr === undefined || p.attr === "program") && ["=", "+=", ":="].includes(p.op);
  }
  if (p.key === "PROGRAM") return true;
  return p.key === "IMPORT" && p.attr === "program";
}

/** The commands of a udev rules file. */
export function udevCommands(text: string): { entries: HookCommand[]; errors: ParseError[] } {
  const entries: HookCommand[] = [];
  const errors: ParseError[] = [];
  for (const l of continuedLines(text)) {
    const ps = pairs(l.text);
    if (!ps) {
      errors.push({ line: l.line, message: 'not a rule of KEY=="value" pairs (udev skips it)' });
      continue;
    }
    for (const p of ps) {
      // udev splits a command at blanks, with '…' or "…" quoting (its own substitutions, $kernel
      // or %k, name no program bpfink follows).
      if (runsProgram(p) && p.value.trim() !== "") {
        entries.push({ line: l.line, setting: p.text, command: p.value.replace(/\\(.)/g, "$1") });
      }
    }
  }
  return { entries, errors };
}

/** udev rules (`*.rules` in a `udev/rules.d`). */
export const UDEV: HookFormat = {
  name: "udev",
  runner: "udev",
  when: "at each device event the rule matches",
  commands: udevCommands,
  path: "/usr/lib/udev:/lib/udev",
};

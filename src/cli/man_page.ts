/**
 * The man page, generated from the command tree that `--help` prints (every
 * command, argument and option with its description) and the manual text
 * after the options, so the two never disagree.
 *
 * @module
 */
import type { Command } from "commander";

/** Text escaped for roff: backslashes, leading dots and quotes, dashes. */
export function roff(s: string): string {
  return s.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/gm, "\\&$1");
}

function optionsOf(cmd: Command): string[] {
  return cmd.options.filter((o) => !o.hidden).flatMap((o) => [
    ".TP",
    `.B ${roff(o.flags)}`,
    roff(
      o.description +
        (o.defaultValue !== undefined && o.defaultValue !== false
          ? ` (default: ${o.defaultValue})`
          : ""),
    ),
  ]);
}

function commandLines(cmd: Command, prefix: string): string[] {
  const name = `${prefix} ${cmd.name()}`.trim();
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
  const out = [
    ".TP",
    `.B ${roff([name, ...args].join(" "))}`,
    roff(cmd.description()),
  ];
  const opts = cmd.options.filter((o) => !o.hidden);
  if (opts.length) {
    out.push(".RS", ...optionsOf(cmd), ".RE");
  }
  for (const sub of cmd.commands) out.push(...commandLines(sub, name));
  return out;
}

/** The manual text's sections (`Title:` lines, indented bodies) as roff. */
function manualSections(manual: string): string[] {
  const out: string[] = [];
  for (const line of manual.replace(/^\n/, "").split("\n")) {
    const title = /^(\S[^:]*):$/.exec(line);
    if (title) {
      out.push(`.SH ${roff(title[1].toUpperCase())}`);
      continue;
    }
    if (!line.trim()) {
      out.push(".PP");
      continue;
    }
    const depth = line.length - line.trimStart().length;
    out.push(depth >= 4 ? `.RS\n.B ${roff(line.trim())}\n.RE` : roff(line.trim()));
  }
  return out;
}

/** The man page (section 8: it needs root) for `program`, with `manual` as its closing sections. */
export function manPage(program: Command, manual: string, version: string): string {
  const lines = [
    `.TH BPFINK 8 "" "bpfink ${roff(version)}" "System Administration"`,
    ".SH NAME",
    `bpfink \\- ${roff(program.description())}`,
    ".SH SYNOPSIS",
    ".B bpfink",
    "[\\fIoptions\\fR] [\\fIcommand\\fR]",
    ".SH OPTIONS",
    ...optionsOf(program),
    ".SH COMMANDS",
    ...program.commands.flatMap((c) => commandLines(c, "bpfink")),
    ...manualSections(manual),
  ];
  return lines.join("\n") + "\n";
}

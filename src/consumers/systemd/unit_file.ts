/**
 * A systemd unit file or drop-in as systemd reads it (systemd.syntax(7)):
 * `[Section]` headers and `Key=Value` settings, blanks around the `=`
 * dropped; a line whose first non-blank character is `#` or `;` is a
 * comment; a line ending in `\` goes on in the next (the `\` becomes a
 * space), comment lines inside it skipped. A line that is none of these is
 * an error systemd logs and skips. One pass, linear in the text.
 *
 * @module
 */
import type { ParseError } from "../parse_result.ts";

/** One setting: in its section, on the line it starts on. */
export interface UnitSetting {
  section: string;
  key: string;
  value: string;
  /** 1-based line its first part is on. */
  line: number;
}

/** What a unit file holds, and the lines systemd skips. */
export interface UnitFile {
  entries: UnitSetting[];
  errors: ParseError[];
}

/** The settings of `text`, in order. */
export function parseUnitFile(text: string): UnitFile {
  const entries: UnitSetting[] = [];
  const errors: ParseError[] = [];
  const lines = text.split("\n");
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i].trim();
    if (line === "" || line[0] === "#" || line[0] === ";") continue;
    // A continuation joins the next lines, skipping the comment lines among them.
    const parts: string[] = [];
    while (line.endsWith("\\") && i + 1 < lines.length) {
      parts.push(line.slice(0, -1));
      let next = lines[++i].trim();
      while ((next[0] === "#" || next[0] === ";") && i + 1 < lines.length) next = lines[++i].trim();
      line = next;
    }
    parts.push(line.endsWith("\\") ? line.slice(0, -1) : line);
    const whole = parts.join(" ").trim();
    if (whole.startsWith("[")) {
      if (whole.endsWith("]") && whole.length > 2) section = whole.slice(1, -1);
      else errors.push({ line: start, message: "a section header systemd does not read" });
      continue;
    }
    const eq = whole.indexOf("=");
    if (eq <= 0) {
      errors.push({ line: start, message: "neither a section nor Key=Value: systemd skips it" });
      continue;
    }
    entries.push({
      section,
      key: whole.slice(0, eq).trim(),
      value: whole.slice(eq + 1).trim(),
      line: start,
    });
  }
  return { entries, errors };
}

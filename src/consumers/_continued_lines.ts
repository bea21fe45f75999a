/**
 * The logical lines of a line-based config (a shell's startup file, udev
 * rules, modprobe.d): each line, with the lines a trailing `\` joins to it,
 * that is not blank or a `#` comment. A comment changed runs nothing; a
 * command changed is one line removed and one added.
 *
 * @module
 */

/** One logical line: its text (trimmed) and the number of its first line in the file. */
export interface ContinuedLine {
  line: number;
  text: string;
}

/** Most lines kept of a file: past them, the rest is one line (compared, and followed). */
export const MAX_LINES = 10_000;

/** Whether `line` ends in an odd number of backslashes. */
function joinsNext(line: string): boolean {
  let n = 0;
  while (n < line.length && line[line.length - 1 - n] === "\\") n++;
  return n % 2 === 1;
}

/** The logical lines of `text` (see the module's doc), at most MAX_LINES. */
export function continuedLines(text: string): ContinuedLine[] {
  const out: ContinuedLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const first = i;
    const parts = [lines[i]];
    // An odd number of backslashes at a line's end joins the next line (an even one is escaped).
    while (joinsNext(parts[parts.length - 1]) && i + 1 < lines.length) {
      parts[parts.length - 1] = parts[parts.length - 1].slice(0, -1);
      parts.push(lines[++i]);
    }
    const t = parts.join("").trim();
    if (t === "" || t.startsWith("#")) continue;
    if (out.length === MAX_LINES - 1) {
      out.push({ line: first + 1, text: [t, ...lines.slice(i + 1)].join("\n") });
      break;
    }
    out.push({ line: first + 1, text: t });
  }
  return out;
}

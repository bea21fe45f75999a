/**
 * A PAM service file (/etc/pam.d/NAME) as libpam reads it (pam.conf(5)):
 * a `\` at a line's end joins the next line; `#` starts a comment; a rule
 * is `[-]type control module [args]`, the type case-insensitive, the
 * control a keyword (`required`, `requisite`, `sufficient`, `optional`,
 * `include`, `substack`) or a `[value=action ...]` list, arguments with
 * spaces in `[...]`; Debian's `@include FILE` pulls in every rule of FILE.
 *
 * @module
 */
import type { ParseError, ParseResult } from "../parse_result.ts";

/** The four management groups. */
export type PamType = "auth" | "account" | "password" | "session";
const TYPES = new Set(["auth", "account", "password", "session"]);

/** One line. */
export type PamLine =
  | {
    kind: "rule";
    line: number;
    type: PamType;
    /** `-type`: a missing module is skipped silently. */
    optionalModule: boolean;
    /** The control as written, blanks squeezed (`required`, `[success=1 default=ignore]`). */
    control: string;
    /** The module path as written; for include/substack, the file. */
    module: string;
    args: string[];
  }
  | { kind: "include"; line: number; file: string };

/** The text of a rule as a message shows it. */
export function pamLineText(l: PamLine): string {
  if (l.kind === "include") return `@include ${l.file}`;
  return [`${l.optionalModule ? "-" : ""}${l.type}`, l.control, l.module, ...l.args].join(" ");
}

/** Splits `s` at blanks, keeping `[...]` (with `\]` for a `]`) as one word. */
function words(s: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\r" || s[i] === "\n")) i++;
    if (i >= s.length) break;
    let w = "";
    if (s[i] === "[") {
      let depthClosed = false;
      for (i++; i < s.length; i++) {
        if (s[i] === "\\" && s[i + 1] === "]") {
          w += "]";
          i++;
        } else if (s[i] === "]") {
          depthClosed = true;
          i++;
          break;
        } else {
          w += s[i];
        }
      }
      if (!depthClosed) return undefined;
      out.push(`[${w.trim().split(/[ \t\r\n]+/).join(" ")}]`);
      continue;
    }
    while (i < s.length && !(s[i] === " " || s[i] === "\t" || s[i] === "\r" || s[i] === "\n")) {
      w += s[i++];
    }
    out.push(w);
  }
  return out;
}

/** The rules of a PAM service file, in order. */
export function parsePamConf(text: string): ParseResult<PamLine> {
  const entries: PamLine[] = [];
  const errors: ParseError[] = [];
  const physical = text.split("\n");
  for (let n = 0; n < physical.length; n++) {
    const first = n + 1;
    let l = physical[n];
    // A backslash at the end joins the next line.
    while (l.endsWith("\\") && n + 1 < physical.length) l = l.slice(0, -1) + " " + physical[++n];
    const hash = l.indexOf("#");
    if (hash >= 0) l = l.slice(0, hash);
    const w = words(l);
    if (!w) {
      errors.push({ line: first, message: "unclosed [" });
      continue;
    }
    if (w.length === 0) continue;
    if (w[0] === "@include") {
      if (w[1]) entries.push({ kind: "include", line: first, file: w[1] });
      continue;
    }
    const optionalModule = w[0].startsWith("-");
    const type = (optionalModule ? w[0].slice(1) : w[0]).toLowerCase();
    if (!TYPES.has(type) || w.length < 3) {
      errors.push({ line: first, message: "not a PAM rule" });
      continue;
    }
    entries.push({
      kind: "rule",
      line: first,
      type: type as PamType,
      optionalModule,
      control: w[1].startsWith("[") ? w[1] : w[1].toLowerCase(),
      module: w[2],
      args: w.slice(3),
    });
  }
  return { entries, errors };
}

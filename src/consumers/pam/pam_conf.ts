/**
 * A PAM service file (/etc/pam.d/NAME) as libpam 1.5.2 with Debian's
 * patches reads it (pam.conf(5)), from its bytes: lines and words as
 * `pam_reader.ts` gives them; a rule is `[-]type control module [args]`,
 * the type case-insensitive, the control a keyword or a list of
 * `value=action` (`pam_control.ts`); Debian's `@include FILE` (any case,
 * `-` or brackets allowed) pulls in every rule of FILE.
 *
 * A line libpam cannot make sense of is not skipped: libpam installs it as
 * a handler that fails when run, with its control (an unknown type counts
 * as the including line's type, auth at the top; a rule without a control
 * fails `bad`; one without a module fails under its control). Such lines
 * are kept, and reported. So are the lines that make libpam give up on the
 * file (a module named `?`, `.so` or ending in `/`), crash it (an include
 * without a file) or hang it (a continued line that fills the buffer):
 * `pam_stack.ts` decides what each does where the file is read.
 *
 * @module
 */
import { type ParseError, type ParseResult, pushError } from "../parse_result.ts";
import { asciiLower, controlKeyword } from "./pam_control.ts";
import { PAM_BUF_SIZE, PamWords, readPamLines } from "./pam_reader.ts";

/** The four management groups. */
export type PamType = "auth" | "account" | "password" | "session";
const TYPES = new Set(["auth", "account", "password", "session"]);

/** One line. */
export type PamLine =
  | {
    kind: "rule";
    line: number;
    /**
     * The type, lowercased; a word libpam does not know as a type is kept
     * as written (see {@link isPamType}): libpam runs the line as a failing
     * handler of the type being read.
     */
    type: PamType | string;
    /** `-type`: libpam does not log a missing module (it still fails). */
    optionalModule: boolean;
    /**
     * The control: a keyword lowercased, or a list in brackets with blanks
     * squeezed (`[success=1 default=ignore]`, also for a list written
     * without brackets); null when the line has none.
     */
    control: string | null;
    /** The module path as written; for include/substack, the file; null when the line has none. */
    module: string | null;
    args: string[];
  }
  /** Debian's `@include`; `file` null when none is written (libpam crashes on it). */
  | { kind: "include"; line: number; file: string | null }
  /** Where libpam stops reading the file: nothing after it is read. */
  | { kind: "stop"; line: number; how: "hang" | "abort"; why: string };

/** Whether `type` is one libpam knows (else the rule is a failing handler). */
export const isPamType = (type: string): type is PamType => TYPES.has(type);

/** The text of a rule as a message shows it. */
export function pamLineText(l: PamLine): string {
  if (l.kind === "include") return l.file === null ? "@include" : `@include ${l.file}`;
  if (l.kind === "stop") return `(libpam stops reading here: ${l.why})`;
  return [
    `${l.optionalModule ? "-" : ""}${l.type}`,
    ...(l.control === null ? [] : [l.control]),
    ...(l.module === null ? [] : [l.module]),
    ...l.args,
  ].join(" ");
}

/** Where libpam reads a service's includes from: a relative name is a file of /etc/pam.d. */
const PAM_DIR = "/etc/pam.d";

/** The file libpam opens for an include or substack of `file`: as written when absolute. */
export function pamFileOf(file: string): string {
  return file.startsWith("/") ? file : `${PAM_DIR}/${file}`;
}

/**
 * The files `lines` pull in, of every type (`@include`, `include`,
 * `substack`), as libpam opens them: a change there changes this service's
 * stacks as much as one here.
 */
export function includedFilesOf(lines: readonly PamLine[]): string[] {
  const out = new Set<string>();
  for (const l of lines) {
    if (l.kind === "include" && l.file !== null) out.add(pamFileOf(l.file));
    else if (
      l.kind === "rule" && l.module !== null &&
      (l.control === "include" || l.control === "substack")
    ) out.add(pamFileOf(l.module));
  }
  return [...out];
}

/**
 * The module libpam loads for `l` (its path as written, and its file name),
 * when it loads one: a rule that is not an include or a substack, and that
 * libpam does not run as a failing handler (a bad type, no control).
 */
export function loadedModule(l: PamLine): { path: string; file: string } | undefined {
  if (l.kind !== "rule" || l.module === null) return undefined;
  if (l.control === "include" || l.control === "substack" || lineFate(l).mustFail) {
    return undefined;
  }
  return { path: l.module, file: l.module.slice(l.module.lastIndexOf("/") + 1) };
}

/** libpam's name for a module (`extract_modulename`): the base name up to its last dot. */
function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot >= 0 ? base.slice(0, dot) : base;
}

/**
 * What libpam does with a rule beyond running it, when it reads it: fails
 * it when run (`mustFail`), gives up on the file (`abort`: the module's
 * name is empty or `?`), or crashes (`crash`: an include without a file).
 * Undefined fields: none of these.
 */
export function lineFate(
  l: PamLine & { kind: "rule" },
): { mustFail?: string; abort?: string; crash?: string } {
  const include = l.control === "include" || l.control === "substack";
  const out: { mustFail?: string; abort?: string; crash?: string } = {};
  // An include works whatever the type (an unknown one is the type being read); one that fails
  // adds a failing handler, as a missing module does.
  if (l.control === null) out.mustFail = isPamType(l.type) ? "no control" : "not a PAM type";
  else if (!include && !isPamType(l.type)) out.mustFail = "not a PAM type";
  else if (!include && l.module === null) out.mustFail = "no module";
  // A handler is added for every line but an include that works (whose failure adds one with
  // no module): its module's name must be neither empty nor `?`.
  if (!include || l.control === "substack") {
    const name = moduleName(l.module ?? "<*unknown module*>");
    if (name === "" || name === "?") out.abort = "the module's name is empty or `?`";
  }
  if (include && l.module === null && !out.abort) out.crash = "an include without a file";
  return out;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const text = (b: Uint8Array) => decoder.decode(b);

/** A list control as stored: in brackets, blanks (C's isspace) squeezed. */
const listControl = (s: string) => `[${s.split(/[ \t\n\v\f\r]+/).filter((x) => x).join(" ")}]`;

/** The rules of a PAM service file, in order (given as bytes, or as text, read as its UTF-8). */
export function parsePamConf(file: string | Uint8Array): ParseResult<PamLine> {
  const entries: PamLine[] = [];
  const errors: ParseError[] = [];
  const read = readPamLines(typeof file === "string" ? encoder.encode(file) : file);
  for (const line of read.cut) {
    pushError(errors, {
      line,
      message: `line longer than ${
        PAM_BUF_SIZE - 1
      } bytes: libpam reads the rest as a line of its own`,
    });
  }
  for (const { line, bytes } of read.lines) {
    const words = new PamWords(bytes);
    let first = words.next();
    let optionalModule = false;
    if (first !== undefined && first[0] === 0x2d) {
      optionalModule = true;
      first = first.subarray(1);
    }
    const type = first === undefined ? "" : text(first);
    if (asciiLower(type) === "@include") {
      const file = words.next();
      entries.push({ kind: "include", line, file: file === undefined ? null : text(file) });
      if (file === undefined) {
        pushError(errors, { line, message: "@include without a file: libpam crashes reading it" });
      }
      continue;
    }
    const controlWord = words.next();
    const moduleWord = words.next();
    const args: string[] = [];
    // An argument in brackets is one (blanks and all): shown in its brackets.
    for (let w = words.next(); w !== undefined; w = words.next()) {
      args.push(words.bracketed ? `[${text(w).trim().split(/[ \t\r\n]+/).join(" ")}]` : text(w));
    }
    const control = controlWord === undefined
      ? null
      : controlKeyword(text(controlWord)) ?? listControl(text(controlWord));
    const rule: PamLine & { kind: "rule" } = {
      kind: "rule",
      line,
      type: isPamType(asciiLower(type)) ? asciiLower(type) : type,
      optionalModule,
      control,
      module: moduleWord === undefined ? null : text(moduleWord),
      args,
    };
    entries.push(rule);
    const fate = lineFate(rule);
    const why = [
      fate.mustFail && `${fate.mustFail}: libpam runs it as a rule that fails`,
      fate.abort && `${fate.abort}: libpam gives up on the file here`,
      fate.crash && `${fate.crash}: libpam crashes reading it`,
    ].filter((x) => x);
    if (why.length > 0) pushError(errors, { line, message: why.join("; ") });
  }
  if (read.stop) {
    entries.push({ kind: "stop", ...read.stop });
    pushError(errors, {
      line: read.stop.line,
      message: `${read.stop.why}; the rest of the file is not read`,
    });
  }
  errors.sort((a, b) => a.line - b.line);
  return { entries, errors };
}

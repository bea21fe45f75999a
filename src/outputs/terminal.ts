/**
 * One readable line per change, for people watching a terminal: time,
 * action, path, process name and pid (with the program it runs when that is
 * not what the name says), the acting uid, and a highlight for uid-0
 * accounts, NOPASSWD and new sudo rules. Colored only on a TTY.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { Output } from "./output.ts";
import { highlightText } from "./terminal_highlight.ts";
import { escapeTerminal, fitLine } from "../terminal_escape.ts";
import { CommandAliases } from "./command_alias.ts";

export { escapeTerminal };

const encoder = new TextEncoder();

const COLORS: Record<string, string> = {
  created: "32",
  modified: "33",
  attributes_changed: "33",
  replaced: "35",
  deleted: "31",
  churned: "31",
  mounted_over: "31",
  mounted_briefly: "31",
  started: "36",
};

const aliases = new CommandAliases();

/**
 * What names the program a process runs, after its name: nothing when the
 * name is the program's (its file name, or a command linked to it, as `sh`
 * to dash), else ` exe=PATH`. A process picks its own name (prctl
 * PR_SET_NAME, a write to /proc/self/comm, a copy of a binary under another
 * name), so a name alone could pass a shell off as `dpkg`. An executable
 * bpfink could not verify is marked so.
 */
export function programText(
  name: string | undefined,
  executable: string | undefined,
  unverified?: string,
  commands: CommandAliases = aliases,
): string {
  const exe = executable ?? unverified;
  if (!exe || (name !== undefined && commands.names(name, exe))) return "";
  return ` exe=${escapeTerminal(exe)}${executable ? "" : " (unverified)"}`;
}

/** Formats one event as a terminal line (without the newline); every field is escaped. */
export function formatLine(e: ChangeEvent, color: boolean): string {
  const esc = (v: unknown) => escapeTerminal(String(v ?? ""));
  const t = esc(e["@timestamp"].slice(11, 23));
  const paint = (code: string | undefined, s: string) =>
    color && code ? `\x1b[${code}m${s}\x1b[0m` : s;
  const action = paint(COLORS[e.event.action] ?? "1", esc(e.event.action).padEnd(10));
  const what = e.event.action === "started" ? (e.message ?? "") : (e.file?.path ?? e.message ?? "");
  const others = (e.bpfink?.other_writers ?? []) as { name?: string; pid?: number; exe?: string }[];
  const more = others.length
    ? ` (with ${
      others.slice(0, 3).map((w) => `${esc(w.name)}[${esc(w.pid)}]${programText(w.name, w.exe)}`)
        .join(", ")
    }${others.length > 3 ? `, ${others.length - 3} more` : ""})`
    : "";
  const bp = e.bpfink?.process as
    | { executable_name?: string; executable_unverified?: string }
    | undefined;
  const program = e.process
    ? programText(
      e.process.name,
      e.process.executable ?? bp?.executable_name,
      bp?.executable_unverified,
    )
    : "";
  const who = e.process ? ` ${esc(e.process.name)}[${esc(e.process.pid)}]${program}${more}` : "";
  const uid = e.user?.id !== undefined ? ` uid=${esc(e.user.id)}` : "";
  const why = e.event.reason && e.event.reason !== "live"
    ? paint("2", ` (${esc(e.event.reason)})`)
    : "";
  // Gone before any read: say so, or the line would pass for a file that was read.
  const notRead = typeof e.bpfink?.not_read === "string"
    ? paint("2", ` (not read: ${esc(e.bpfink.not_read)})`)
    : "";
  const detail = e.event.action === "started" || !e.message || e.message.startsWith(what + " ")
    ? ""
    : `  ${esc(e.message)}`;
  return `${t}  ${action} ${esc(what)}${who}${uid}${why}${notRead}${
    highlightText(e, color)
  }${detail}`;
}

/**
 * Writes one line per event to stdout. On a terminal each line is cut to its
 * width (fitLine): a wrapped row cannot pass for a line; `--json` has it all.
 */
export class TerminalOutput implements Output {
  readonly name = "terminal";
  readonly color: boolean;
  readonly #columns: () => number | undefined;
  constructor(
    readonly out: { writeSync(p: Uint8Array): number; isTerminal(): boolean } = Deno.stdout,
    color?: boolean,
    columns: () => number | undefined = () => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return undefined;
      }
    },
  ) {
    this.color = color ?? (out.isTerminal() && !Deno.env.get("NO_COLOR"));
    this.#columns = columns;
  }

  write(event: ChangeEvent): void {
    const line = formatLine(event, this.color);
    const fitted = this.out.isTerminal() ? fitLine(line, this.#columns() ?? 0) : line;
    const bytes = encoder.encode(fitted + "\n");
    let off = 0;
    while (off < bytes.length) off += this.out.writeSync(bytes.subarray(off));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

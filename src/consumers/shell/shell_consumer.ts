/**
 * The shell consumer: shells' startup files (`shell_files.ts`), which run
 * as code in each login or interactive shell of the users that read them,
 * root's at its next login. A command line added is told as code those
 * shells will run: critical when root's shell reads the file, high
 * otherwise; a line removed is medium. The files it sources (`. FILE`,
 * `source FILE`) and the programs it runs by path are watched with it
 * (`_command_programs.ts`, `$HOME` and `~` as the home it runs in): whoever
 * can write one runs code in those shells without a line of the startup
 * file changing (`. "$HOME/.cargo/env"` in root's `.bashrc`). A bare
 * program name is not followed: the PATH a startup file runs with is the
 * one it builds.
 *
 * @module
 */
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { hostAccounts } from "../_host_accounts.ts";
import { commandPrograms, WatchedPrograms } from "../_command_programs.ts";
import { diffLineLists } from "../line_diff.ts";
import { cutText } from "../../pipeline/event_size.ts";
import { displayPath } from "../../watch/path_bytes.ts";
import { readersOf } from "./shell_files.ts";
import { type ContinuedLine, continuedLines } from "../_continued_lines.ts";

/** What is kept of a startup file. */
interface Snapshot {
  lines: ContinuedLine[];
  /** Every user's shell reads it. */
  everyone: boolean;
  /** The accounts whose home holds it, by name. */
  users: string[];
  /** Root's shell reads it. */
  root: boolean;
  /** The home its commands start in. */
  home?: string;
}

/** Characters of a command line a message shows. */
const SHOWN_CHARS = 200;

/** Whose shells a message names. */
function whose(s: Snapshot): string {
  if (s.everyone) return "every user's shell (root's too)";
  if (s.users.length === 0) return "the shells that read it";
  const names = s.users.length > 3
    ? `${s.users.slice(0, 3).join(", ")} and ${s.users.length - 3} more`
    : s.users.join(", ");
  return `the shell of ${shown(names)}`;
}

/** The command lines added and removed from `before` to `after` (most severe first, bounded). */
export function diffShell(
  before: Snapshot | undefined,
  after: Snapshot | undefined,
  path: string,
): SemanticChange[] {
  const a = before?.lines ?? [];
  const b = after?.lines ?? [];
  const d = diffLineLists(a.map((l) => l.text), b.map((l) => l.text), {
    maxShown: Number.MAX_SAFE_INTEGER,
    maxLineChars: Number.MAX_SAFE_INTEGER,
  });
  const out = new ChangeList("shell");
  if (d.status !== "diff") return out.done();
  const readers = after ?? before!;
  const file = shown(displayPath(path));
  for (const l of d.added) {
    out.push({
      action: "shell_command_added",
      subject: l.text,
      message: `${file}: ${whose(readers)} now runs: ${shown(cutText(l.text, SHOWN_CHARS))}`,
      changes: [{ field: "command", to: l.text }],
      source: { file: path, line: b[l.line - 1].line },
      severity: readers.root ? "critical" : "high",
    });
  }
  for (const r of d.removed) {
    out.push({
      action: "shell_command_removed",
      subject: r.text,
      message: `${file}: ${whose(readers)} no longer runs: ${shown(cutText(r.text, SHOWN_CHARS))}`,
      changes: [{ field: "command", from: r.text }],
      source: { file: path, line: a[r.line - 1].line },
      severity: "medium",
    });
  }
  return out.done();
}

/** The files `s` sources and the programs it runs by path, at its readers' severity. */
export function shellPrograms(s: Snapshot | undefined) {
  const out = new WatchedPrograms();
  if (!s) return out.values();
  const text = s.lines.map((l) => l.text).join("\n");
  for (const p of commandPrograms(text, s.home, "")) out.add(p, s.root ? "critical" : "high");
  return out.values();
}

/** Shells' startup files. */
export const shellConsumer: Consumer = {
  name: "shell",
  /** A home startup file its owner's shell reads: one in the home of an account of that uid. */
  readsByName(path: string, uid: number, ctx: ConsumerContext): boolean {
    const accounts = hostAccounts(ctx) ?? [];
    const r = readersOf(path, accounts);
    return !r.everyone && accounts.some((a) => a.uid === uid && r.users.includes(a.name));
  },
  snapshot(path: string, text: string, ctx: ConsumerContext): Snapshot {
    return { lines: continuedLines(text), ...readersOf(path, hostAccounts(ctx)) };
  },
  diff(path: string, before: unknown, after: unknown) {
    return diffShell(before as Snapshot | undefined, after as Snapshot | undefined, path);
  },
  watchAlso(snapshot: unknown) {
    return shellPrograms(snapshot as Snapshot | undefined);
  },
};

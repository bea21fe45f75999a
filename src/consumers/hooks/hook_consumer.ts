/**
 * Consumers for configs that make root run commands on an event of their
 * own: udev's `RUN+=` on a device event (`udev_rules.ts`), apt's hooks
 * around each install (`apt_hooks.ts`), modprobe's `install` when a module
 * loads (`modprobe_commands.ts`). Each reader gives the commands of a file;
 * what follows is shared: a command added is code root will run, critical;
 * one removed, medium; and the programs they run are watched with the file
 * (`_command_programs.ts`, critical), for whoever can write one runs code
 * as root at the next event without a line of the config changing.
 *
 * @module
 */
import type { Consumer, ConsumerContext, IncludedPath } from "../consumer.ts";
import type { ConsumerName } from "../../config/config_types.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { multisetDiff } from "../_multiset_diff.ts";
import { commandPrograms, WatchedPrograms } from "../_command_programs.ts";
import type { ParseError } from "../parse_result.ts";
import { reportErrors } from "../report_errors.ts";

/** A command a config makes root run. */
export interface HookCommand {
  /** The line of the file it is on (its first, when continued). */
  line: number;
  /** The setting as the file writes it, as an event shows it: `RUN+="/usr/local/bin/x %k"`. */
  setting: string;
  /** The command line its program runs (as `sh -c` would read it). */
  command: string;
}

/** One kind of file that names commands root runs. */
export interface HookFormat {
  name: ConsumerName;
  /** Who runs them, as a message says it: `udev`, `apt`, `modprobe`. */
  runner: string;
  /** When, as a message says it: `at each device event it matches`. */
  when: string;
  /** The commands of a file, in file order, and the lines that could not be read. */
  commands(text: string): { entries: HookCommand[]; errors: ParseError[] };
  /** Where its program looks up a name without a `/` (a PATH). */
  path: string;
}

/** Most commands kept of a file: the rest are not compared or followed. */
export const MAX_COMMANDS = 4096;

/** The changes between two lists of `f`'s commands in `file`: added critical, removed medium. */
export function diffHooks(
  f: HookFormat,
  before: readonly HookCommand[],
  after: readonly HookCommand[],
  file: string,
): SemanticChange[] {
  const { added, removed } = multisetDiff([...before], [...after], (c) => c.setting);
  const out = new ChangeList(f.name);
  for (const c of added) {
    out.push({
      action: `${f.name}_command_added`,
      subject: c.setting,
      message: `${f.runner} runs as root ${f.when}: ${shown(c.setting)}`,
      changes: [{ field: "command", to: c.setting }],
      source: { file, line: c.line },
      severity: "critical",
    });
  }
  for (const c of removed) {
    out.push({
      action: `${f.name}_command_removed`,
      subject: c.setting,
      message: `${f.runner} no longer runs ${f.when}: ${shown(c.setting)}`,
      changes: [{ field: "command", from: c.setting }],
      source: { file, line: c.line },
      severity: "medium",
    });
  }
  return out.done();
}

/** The programs `commands` run, outside the system's binary directories: critical, as root's. */
export function hookPrograms(f: HookFormat, commands: readonly HookCommand[]): IncludedPath[] {
  const out = new WatchedPrograms();
  for (const c of commands) {
    // Run by a daemon (udevd, apt, modprobe) from the root directory.
    for (const p of commandPrograms(c.command, "/", f.path)) out.add(p, "critical");
  }
  return out.values();
}

/** The consumer of `f`'s files. */
export function hookConsumer(f: HookFormat): Consumer {
  return {
    name: f.name,
    snapshot(path: string, text: string, ctx: ConsumerContext): HookCommand[] {
      const r = f.commands(text);
      reportErrors(path, r.errors, ctx);
      return r.entries.slice(0, MAX_COMMANDS);
    },
    diff(path: string, before: unknown, after: unknown) {
      return diffHooks(
        f,
        (before as HookCommand[] | undefined) ?? [],
        (after as HookCommand[] | undefined) ?? [],
        path,
      );
    },
    watchAlso(snapshot: unknown) {
      return hookPrograms(f, Array.isArray(snapshot) ? snapshot as HookCommand[] : []);
    },
  };
}

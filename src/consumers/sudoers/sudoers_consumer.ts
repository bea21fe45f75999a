/**
 * The sudoers consumer: /etc/sudoers and the files it includes. Each file is
 * parsed on its own; the files and directories it includes are watched too,
 * and so are the programs its rules let users run (`sudoers_commands.ts`).
 *
 * A file in an included directory that sudo's `@includedir` skips (a name
 * ending in `~` or holding a `.`: editor backups, `.dpkg-old`) is never read
 * by sudo, so it gives no semantic event: the raw file event reports it.
 * The included directories are learnt from the snapshots of the files that
 * include them (and any directory named `sudoers.d` counts as one); a file
 * that is also `@include`d by its exact path is read, as sudo does.
 *
 * sudo reads all its files as one: an alias defined in one file may be used
 * by a rule in another. The latest entries of every sudoers file are kept,
 * so that a change to an alias carries the protections the rules using it,
 * wherever they are, take away.
 *
 * @module
 */
import { basename, dirname } from "node:path/posix";
import { parseSudoers, type SudoersEntry, sudoSkipsInDir } from "./sudoers.ts";
import { diffSudoers } from "./sudoers_diff.ts";
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { reportErrors } from "../report_errors.ts";
import { commandFilesOf } from "./sudoers_commands.ts";

interface Snapshot {
  entries: SudoersEntry[];
  includes: { path: string; dir: boolean }[];
}

/** Directories some watched sudoers file `@includedir`s, and files it `@include`s. */
const includedDirs = new Set<string>();
const includedFiles = new Set<string>();

/** The latest entries of each sudoers file, by path. */
const latestEntries = new Map<string, SudoersEntry[]>();

/** The latest entries of every sudoers file but `path`. */
function entriesBesides(path: string): SudoersEntry[] {
  return [...latestEntries].flatMap(([p, es]) => p === path ? [] : es);
}

function learn(s: Snapshot): void {
  for (const i of s.includes) (i.dir ? includedDirs : includedFiles).add(i.path);
}

/** True when sudo would never read `path` (skipped by its includedir, not included by name). */
export function sudoIgnores(path: string): boolean {
  if (!sudoSkipsInDir(basename(path)) || includedFiles.has(path)) return false;
  const dir = dirname(path);
  return includedDirs.has(dir) || basename(dir) === "sudoers.d";
}

/** sudoers files. */
export const sudoersConsumer: Consumer = {
  name: "sudoers",
  // Seen with sudo 1.9.13: `visudo -c -f /bin/true` fails, `sudo -l` with it in sudoers.d
  // prints a syntax error per line and lists the rules of the lines that parse.
  notText: "visudo -c rejects it, a syntax error per line it cannot parse; sudo " +
    "(error_recovery, the default since 1.9.3) skips those lines and applies the ones that parse",
  snapshot(path: string, text: string, ctx: ConsumerContext): Snapshot | undefined {
    if (sudoIgnores(path)) return undefined;
    const r = parseSudoers(text, path);
    reportErrors(path, r.errors, ctx);
    const snap = { entries: r.entries, includes: r.includes };
    learn(snap);
    latestEntries.set(path, r.entries);
    return snap;
  },
  diff(path: string, before: unknown, after: unknown) {
    if (sudoIgnores(path)) return [];
    const now = (after as Snapshot | undefined)?.entries;
    if (now) latestEntries.set(path, now);
    else latestEntries.delete(path);
    return diffSudoers(
      (before as Snapshot | undefined)?.entries ?? [],
      now ?? [],
      entriesBesides(path),
    );
  },
  watchAlso(snapshot: unknown) {
    const s = snapshot as Snapshot | undefined;
    if (s) learn(s);
    // What it includes, and the programs its rules let users run (sudoers_commands.ts).
    return [...s?.includes ?? [], ...commandFilesOf(s?.entries ?? [])];
  },
};

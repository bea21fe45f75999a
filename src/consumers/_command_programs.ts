/**
 * The files a command line runs as programs, read as `/bin/sh -c` runs it
 * (`_shell_commands.ts`): each command of it, after `VAR=value`
 * assignments, keywords (`if`, `then`, `!`) and the programs that run
 * another (`nice`, `nohup`, `env`, `timeout`, `flock`, ...); a shell's
 * `-c` string is read the same way, and an interpreter's script
 * (`/usr/bin/php /var/www/app/cron.php`) is a program too. A relative name
 * is found from the command's directory, as a `cd` in it moves it; a name
 * without a `/` in each directory of the PATH given. Nothing is expanded
 * but a leading `$HOME` (as `~`): a name with another `$`, a `%` or a glob
 * is not followed. The system's binaries (`/usr/bin`,
 * ...) are the package manager's and a config's to watch as a whole, and
 * are left out. For the configs that name what root runs (crontabs,
 * systemd units): whoever can write such a file runs code as their user.
 *
 * @module
 */
import { normalize } from "node:path/posix";
import { simpleCommands } from "./_shell_commands.ts";
import { lastName } from "../watch/path_names.ts";
import type { IncludedPath } from "./consumer.ts";
import type { SeverityLevel } from "../pipeline/severity.ts";

/**
 * The most programs one file makes watched: a user's crontab is the user's
 * to write, and each program is a path root's agent watches.
 */
export const MAX_PROGRAMS = 256;

/** Where the system's own programs live. */
const SYSTEM_DIRS = ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"];

/** Whether `path` is in (or, with its trailing `/`, is) one of the system's binary directories. */
export function inSystemDir(path: string): boolean {
  return SYSTEM_DIRS.some((d) => path.startsWith(d));
}

/** How deep `sh -c '… sh -c …'` is followed. */
const MAX_DEPTH = 4;

/** The most directories of PATH looked in, and the longest directory a `cd` is followed to. */
const MAX_PATH_DIRS = 32;
const MAX_DIR_CHARS = 4096;

/** Shells: `-c` runs the next word as commands, otherwise the first word is a script. */
const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh"]);

/** Other programs that run the file named after their options. */
const INTERPRETERS = new Set(["python", "python3", "perl", "php", "ruby", "node"]);

/** Their options that run code given on the command line, or a module, not a file. */
const INLINE_CODE = new Set(["-c", "-e", "-E", "-m", "-r"]);

/** Programs that run the command after their options (and a number, a duration, a lock file). */
const WRAPPERS = new Set([
  "nice",
  "nohup",
  "env",
  "timeout",
  "ionice",
  "flock",
  "chronic",
  "setsid",
  "stdbuf",
  "exec",
  "command",
  "time",
]);

/** Words that start a command without being its program. */
const KEYWORDS = new Set(["if", "then", "else", "elif", "while", "until", "do", "!", "{", "}"]);

/** Commands that run no program of their own words. */
const NO_PROGRAM = new Set(["fi", "done", "for", "case", "esac", "select", "function"]);

/** sh's built-in commands: a name without a `/` that is one runs no file. */
const BUILTINS = new Set([
  ":",
  ".",
  "[",
  "alias",
  "bg",
  "break",
  "cd",
  "continue",
  "echo",
  "eval",
  "exit",
  "export",
  "false",
  "fg",
  "getopts",
  "hash",
  "jobs",
  "kill",
  "local",
  "printf",
  "pwd",
  "read",
  "readonly",
  "return",
  "set",
  "shift",
  "source",
  "test",
  "times",
  "trap",
  "true",
  "type",
  "ulimit",
  "umask",
  "unalias",
  "unset",
  "wait",
]);

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Where a command runs: its directory (undefined: not known), its user's home, its PATH. */
interface Place {
  cwd?: string;
  home?: string;
  path: string[];
}

/** `$HOME` or `${HOME}` at the start of a word: the command's home, as `~` is. */
const HOME_VAR = /^\$(?:HOME|\{HOME\})(?=\/|$)/;

/** Characters of a glob: such a name is no one file. */
const GLOB = /[*?[]/;

/** `name` as a path from the command's directory; undefined when that cannot be known. */
function fromDir(word: string, at: Place): string | undefined {
  const name = word.replace(HOME_VAR, "~");
  if (name.includes("$") || name.includes("%") || GLOB.test(name)) return undefined;
  let path: string | undefined;
  if (name === "~" || name.startsWith("~/")) {
    path = at.home === undefined ? undefined : `${at.home}/${name.slice(1)}`;
  } else if (!name.startsWith("~")) {
    path = name.startsWith("/") ? name : at.cwd === undefined ? undefined : `${at.cwd}/${name}`;
  }
  // A directory longer than the kernel takes is no file, and `cd a; cd a; …` stays linear; a
  // relative one (a crontab's `HOME=x`) cannot be placed. Lexically, as sh's `cd`: a symlink is
  // not followed.
  return path === undefined || path.length > MAX_DIR_CHARS || !path.startsWith("/")
    ? undefined
    : normalize(path);
}

/** The files a command's program name may run: a path, or one per directory of PATH. */
function programFiles(name: string, at: Place): string[] {
  if (name.includes("/")) {
    const p = fromDir(name, at);
    return p === undefined ? [] : [p];
  }
  if (name === "" || /[$%*?[]/.test(name) || BUILTINS.has(name)) return [];
  return at.path.filter((d) => d.startsWith("/")).map((d) => normalize(`${d}/${name}`));
}

/** The directory `cd ARG` moves to (no ARG: home; `-` or an expansion: not known). */
function cdTo(words: string[], at: Place): string | undefined {
  const arg = words.slice(1).find((w) => !w.startsWith("-") || w === "-");
  if (arg === undefined) return at.home;
  if (arg === "-") return undefined;
  return fromDir(arg, at);
}

/** Adds to `out` the files the commands of `line` run, `at` moving with each `cd`. */
function collect(line: string, at: Place, out: Set<string>, depth: number): void {
  for (const words of simpleCommands(line)) {
    if (out.size >= MAX_PROGRAMS) return;
    let i = 0;
    for (;;) {
      while (i < words.length && (KEYWORDS.has(words[i]) || ASSIGNMENT.test(words[i]))) i++;
      if (i >= words.length || NO_PROGRAM.has(words[i])) break;
      const name = lastName(words[i]);
      if (words[i] === "cd") {
        at.cwd = cdTo(words.slice(i), at);
        break;
      }
      if (!WRAPPERS.has(name)) break;
      // A wrapper's options, numbers and durations (`nice -n 10`, `timeout 5m`), env's settings.
      i++;
      while (i < words.length && /^[-+\d]|^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) i++;
      if (name !== "flock" || i >= words.length) continue;
      // flock LOCKFILE COMMAND…, or flock LOCKFILE -c 'COMMAND LINE'.
      i++;
      if (words[i] === "-c" && depth < MAX_DEPTH && i + 1 < words.length) {
        collect(words[i + 1], { ...at }, out, depth + 1);
        i = words.length;
      }
    }
    if (i >= words.length || NO_PROGRAM.has(words[i]) || words[i] === "cd") continue;
    const name = lastName(words[i]);
    for (const p of programFiles(words[i], at)) out.add(p);
    const rest = words.slice(i + 1);
    if (name === "." || name === "source") {
      if (rest[0] !== undefined) { for (const p of programFiles(rest[0], at)) out.add(p); }
    } else if (SHELLS.has(name)) {
      script(rest, at, out, depth, true);
    } else if (INTERPRETERS.has(name)) {
      script(rest, at, out, depth, false);
    }
  }
}

/** What a shell or an interpreter runs, given the words after its name. */
function script(args: string[], at: Place, out: Set<string>, depth: number, shell: boolean) {
  let inline = false;
  let i = 0;
  for (; i < args.length && /^[-+]./.test(args[i]); i++) {
    const opt = args[i];
    // `bash -o pipefail`: the option's argument is not a script.
    if (shell && (opt === "-o" || opt === "+o")) i++;
    else if (shell ? /^-[A-Za-z]*c/.test(opt) : INLINE_CODE.has(opt)) inline = true;
  }
  const first = args[i];
  if (first === undefined) return;
  if (!inline) {
    const p = fromDir(first, at);
    if (p !== undefined) out.add(p);
  } else if (shell && depth < MAX_DEPTH) {
    // `sh -c 'COMMANDS'` runs them in a shell of its own: a `cd` there moves only it.
    collect(first, { ...at }, out, depth + 1);
  }
}

/**
 * The files `line` runs as programs (see the module's doc), outside the
 * system's binary directories, at most MAX_PROGRAMS. `home` is its
 * directory, `path` the PATH its bare names are looked up in.
 */
export function commandPrograms(line: string, home: string | undefined, path: string): string[] {
  const out = new Set<string>();
  const dirs = path.split(":").slice(0, MAX_PATH_DIRS);
  collect(line, { cwd: home, home, path: dirs }, out, 0);
  return [...out].filter((p) => p !== "/" && !inSystemDir(p));
}

/**
 * The programs one file makes watched, each once at its most severe
 * (`critical` for what runs as root, `high` otherwise), at most
 * MAX_PROGRAMS of them.
 */
export class WatchedPrograms {
  readonly #out = new Map<string, IncludedPath>();

  /** Adds `path` (a directory when `dir`: every program in it) at `severity`. */
  add(path: string, severity: SeverityLevel, dir = false): void {
    const had = this.#out.get(path);
    if (had && (had.severity === "critical" || severity === "high")) return;
    if (!had && this.#out.size >= MAX_PROGRAMS) return;
    this.#out.set(path, { path, dir, consumer: "generic", severity });
  }

  /** What was added, in the order first added. */
  values(): IncludedPath[] {
    return [...this.#out.values()];
  }
}

/**
 * Whether a process's name is an honest alias of the program it runs: the
 * kernel names a process after the path it was started by, so `sh` runs
 * `/usr/bin/dash`, `vi` runs `vim.basic` and `awk` runs `mawk` through the
 * system's links. A name is such an alias when that command, looked up in
 * the system's directories of programs, is a link to the same file. The
 * name comes from the process (attacker-chosen): one with a `/` or a NUL,
 * or `.` or `..`, is never looked up.
 *
 * @module
 */

/** Where commands are looked up, as root's PATH has them. */
const COMMAND_DIRS = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];

/** The most names remembered (a process can take any name; the cache must not grow with them). */
const MAX_CACHED = 256;

/** The longest process name the kernel keeps (TASK_COMM_LEN less its NUL). */
export const COMM_MAX = 15;

/** Resolves links, or undefined when the path does not exist. */
export type RealPath = (path: string) => string | undefined;

const realPath: RealPath = (path) => {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
};

/** Looks commands up in COMMAND_DIRS, remembering the answers of the last names asked. */
export class CommandAliases {
  readonly #cache = new Map<string, string[]>();
  readonly #realPath: RealPath;

  constructor(resolve: RealPath = realPath) {
    this.#realPath = resolve;
  }

  /**
   * Whether `name` is the program `executable` (a full path with its links
   * resolved, or only its file name): its file name, cut as the kernel cuts names, or a command
   * of that name linked to it.
   */
  names(name: string, executable: string): boolean {
    const base = executable.slice(executable.lastIndexOf("/") + 1);
    if (base.slice(0, COMM_MAX) === name.slice(0, COMM_MAX)) return true;
    if (!name || name === "." || name === ".." || /[/\0]/.test(name)) return false;
    const targets = this.#targets(name);
    // A full path is /proc/PID/exe's, which names the file itself, its links resolved.
    return executable.startsWith("/")
      ? targets.includes(executable)
      : targets.some((t) => t.slice(t.lastIndexOf("/") + 1) === base);
  }

  /** The files the command `name` resolves to, one per directory that has it. */
  #targets(name: string): string[] {
    let t = this.#cache.get(name);
    if (t === undefined) {
      t = [];
      for (const dir of COMMAND_DIRS) {
        const real = this.#realPath(`${dir}/${name}`);
        if (real !== undefined && !t.includes(real)) t.push(real);
      }
      if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(name, t);
    }
    return t;
  }
}

/**
 * Which files are shells' startup files, and whose shells read each: the
 * system's (`/etc/profile`, `/etc/bash.bashrc`, `/etc/profile.d/*.sh`,
 * zsh's `/etc/zsh/zshrc`, ...) are read by every user's shell, root's too;
 * a user's (`~/.bashrc`, `~/.profile`, `~/.bash_profile`, `~/.bash_login`,
 * `~/.bash_logout`, `~/.bash_aliases`, zsh's `~/.zshrc`, ...) by the shells
 * of the accounts whose home holds it, as /etc/passwd says.
 *
 * @module
 */
import type { PasswdEntry } from "../users/passwd.ts";
import { lastName, parentName } from "../../watch/path_names.ts";

/** Startup files every user's shell reads, root's too, by name. */
export const SYSTEM_FILES: readonly string[] = [
  "profile",
  "bash.bashrc",
  "bash.bash_logout",
  "bashrc",
  "zshenv",
  "zprofile",
  "zshrc",
  "zlogin",
  "zlogout",
];

/** Startup files a user's shell reads from the user's home, by name. */
export const HOME_FILES: readonly string[] = [
  ".profile",
  ".bashrc",
  ".bash_profile",
  ".bash_login",
  ".bash_logout",
  ".bash_aliases",
  ".zshenv",
  ".zprofile",
  ".zshrc",
  ".zlogin",
  ".zlogout",
];

/** `/etc/profile` reads the `*.sh` files of this directory. */
export const PROFILE_DIR = "profile.d";

/** Whose shells read a startup file. */
export interface Readers {
  /** Every user's shell reads it (a system file). */
  everyone: boolean;
  /** The accounts whose home holds it, by name, in passwd's order. */
  users: string[];
  /** Root's shell reads it. */
  root: boolean;
  /** The home its commands start in: the one account's (or root's) whose home holds it. */
  home?: string;
}

/** Whether `path` is a system startup file (by its name, or a `*.sh` of a `profile.d`). */
export function isSystemFile(path: string): boolean {
  const name = lastName(path);
  return SYSTEM_FILES.includes(name) ||
    (parentName(path) === PROFILE_DIR && name.endsWith(".sh") && !name.startsWith("."));
}

/** A home as passwd gives it, without a trailing `/` (`/` stays). */
function homeDir(home: string): string {
  return home.length > 1 ? home.replace(/\/+$/, "") : home;
}

/** The accounts whose home holds `path` under its name (a home startup file's readers). */
export function homeAccounts(path: string, accounts: readonly PasswdEntry[]): PasswdEntry[] {
  const name = lastName(path);
  if (!HOME_FILES.includes(name)) return [];
  const dir = path.slice(0, path.length - name.length - 1) || "/";
  return accounts.filter((a) => a.home.startsWith("/") && homeDir(a.home) === dir);
}

/**
 * Whose shells read `path`: everyone's for a system file; for a home file,
 * the accounts whose home holds it (none known: `accounts` undefined, or no
 * such home).
 */
export function readersOf(path: string, accounts: readonly PasswdEntry[] | undefined): Readers {
  if (isSystemFile(path)) return { everyone: true, users: [], root: true };
  const users = homeAccounts(path, accounts ?? []);
  const root = users.some((a) => a.uid === 0);
  const home = root ? users.find((a) => a.uid === 0)!.home : users[0]?.home;
  return {
    everyone: false,
    users: [...new Set(users.map((a) => a.name))],
    root,
    ...(home !== undefined ? { home: homeDir(home) } : {}),
  };
}

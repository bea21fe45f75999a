/**
 * What a PAM rule tells pam_access (Linux-PAM 1.5.2's `parse_args`): an
 * `accessfile=` to read rules from instead of /etc/security/access.conf,
 * and `fieldsep=`/`listsep=`, separators other than `:` and `, \t`. Each is
 * an argument with that exact prefix; a later one overrides an earlier one.
 *
 * @module
 */
import { loadedModule, type PamLine } from "./pam_conf.ts";

/** The pam_access settings of one rule. */
export interface PamAccessArgs {
  accessfile?: string;
  fieldsep?: string;
  listsep?: string;
}

const KEYS = ["accessfile", "fieldsep", "listsep"] as const;

/**
 * The pam_access settings of `l`, when it is a rule libpam runs with the
 * module pam_access.so; undefined otherwise.
 */
export function pamAccessArgs(l: PamLine): PamAccessArgs | undefined {
  if (loadedModule(l)?.file !== "pam_access.so" || l.kind !== "rule") return undefined;
  const out: PamAccessArgs = {};
  for (const arg of l.args) {
    for (const k of KEYS) if (arg.startsWith(`${k}=`)) out[k] = arg.slice(k.length + 1);
  }
  return out;
}

/**
 * The files the rules of a PAM service read access rules from besides
 * access.conf (absolute `accessfile=` paths; pam_access opens a relative one
 * from wherever the program runs).
 */
export function accessFilesOf(lines: readonly PamLine[]): string[] {
  const out = new Set<string>();
  for (const l of lines) {
    const f = pamAccessArgs(l)?.accessfile;
    if (f?.startsWith("/")) out.add(f);
  }
  return [...out];
}

/**
 * /etc/environment by meaning: the variables pam_env sets in every session
 * it runs for (Debian's sshd, login, su and cron PAM services do, root's
 * sessions too). A line is `NAME=value`, with an optional `export `; a `#`
 * ends a line wherever it is; a value that starts with a quote loses it,
 * and then a last quote of either kind; a name set again takes the later
 * value (`environment_differential_test.ts` holds this against pam_env,
 * through su). A variable that
 * steers what code runs (`LD_PRELOAD`, `BASH_ENV`, `PYTHONPATH`, `PATH`,
 * ... sudo's list of dangerous variables) added or changed is critical:
 * `LD_PRELOAD=/tmp/x.so` there loads the library into every program of
 * every such session. The files such variables name to load or source are
 * watched with it. A value that may be a credential (a name with
 * PASSWORD, SECRET, TOKEN or KEY, or a URL's password) is kept as a keyed
 * fingerprint and never shown.
 *
 * @module
 */
import type { Consumer, IncludedPath } from "../consumer.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { isDangerousVariable } from "../sudoers/_weakens.ts";
import { WatchedPrograms } from "../_command_programs.ts";
import { keyedDiff } from "../_keyed_diff.ts";
import { listConsumer } from "../_list_consumer.ts";
import { type EnvVariable, secretValue } from "./env_variable.ts";
import { lastName } from "../../watch/path_names.ts";
import { parsePamEnvConf } from "./pam_env_conf.ts";

/** Most variables kept of a file. */
const MAX_VARIABLES = 4096;

/** Whether `name` steers what code runs in the session (sudo's dangerous variables, PATH). */
export function steersCode(name: string): boolean {
  return name === "PATH" || isDangerousVariable(name);
}

/** The variables of an environment file (see the module's doc), in the order first set. */
export function parseEnvironment(
  text: string,
  fingerprint: (secret: string) => string,
): EnvVariable[] {
  const out = new Map<string, EnvVariable>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    // A `#` ends the line wherever it is, as pam_env reads it (a value cannot hold one).
    let l = lines[i].replace(/#.*/s, "").trimStart();
    if (l.startsWith("export ")) l = l.slice(7);
    const eq = l.indexOf("=");
    if (eq <= 0) continue;
    const name = l.slice(0, eq);
    if (!/^[A-Za-z0-9_]+$/.test(name)) continue;
    let value = l.slice(eq + 1);
    // A leading quote goes, and then a trailing one of either kind (pam_env's own rule).
    if (value[0] === '"' || value[0] === "'") {
      value = value.slice(1);
      if (value.endsWith('"') || value.endsWith("'")) value = value.slice(0, -1);
    }
    const v: EnvVariable = { name, line: i + 1, ...secretValue(name, value, fingerprint) };
    // Set again: the later value, in the place first set.
    if (out.has(name) || out.size < MAX_VARIABLES) out.set(name, v);
  }
  return [...out.values()];
}

const valueShown = (v: EnvVariable) => v.secret ? "(value hidden)" : shown(v.value);

/** What changed from `before` to `after` in `file`. */
export function diffEnvironment(
  before: readonly EnvVariable[],
  after: readonly EnvVariable[],
  file: string,
): SemanticChange[] {
  const out = new ChangeList("environment");
  const d = keyedDiff(before, after, (v) => v.name, (v) => v.value);
  for (const { now: v, was: old } of d.set) {
    const severity = steersCode(v.name) ? "critical" : "medium";
    out.push({
      action: old ? "environment_variable_changed" : "environment_variable_added",
      subject: v.name,
      message:
        `every session pam_env sets up (root's too) now starts with ${shown(v.name)}=${
          valueShown(v)
        }` + (old ? ` (was ${valueShown(old)})` : ""),
      changes: [{
        field: v.name,
        ...(old ? { from: old.secret ? "(hidden)" : old.value } : {}),
        to: v.secret ? "(hidden)" : v.value,
      }],
      source: { file, line: v.line },
      severity,
    });
  }
  for (const v of d.removed) {
    out.push({
      action: "environment_variable_removed",
      subject: v.name,
      message: `sessions pam_env sets up no longer start with ${shown(v.name)} set`,
      changes: [{ field: v.name, from: v.secret ? "(hidden)" : v.value }],
      source: { file, line: v.line },
      severity: "medium",
    });
  }
  return out.done();
}

/** Variables whose value names files the session loads (`:` or blank separated) or sources. */
const FILE_VARIABLES = new Set(["LD_PRELOAD", "LD_AUDIT", "BASH_ENV", "ENV"]);

/** The files its variables make every session load or source: critical. */
export function environmentFiles(vars: readonly EnvVariable[]): IncludedPath[] {
  const out = new WatchedPrograms();
  for (const v of vars) {
    if (!FILE_VARIABLES.has(v.name) || v.secret) continue;
    // ld.so expands `$LIB`, `$PLATFORM` and `$ORIGIN`, bash `$` and backquotes in BASH_ENV and
    // ENV: such a value names no one file. Neither globs: a `*` is part of the name.
    for (const p of v.value.split(/[:\s]+/)) {
      if (p.startsWith("/") && !/[$`]/.test(p)) out.add(p, "critical");
    }
  }
  return out.values();
}

/** /etc/environment, and /etc/security/pam_env.conf in its own form (pam_env_conf.ts). */
export const environmentConsumer: Consumer = listConsumer("environment", {
  parse(path, text, ctx) {
    const read = lastName(path) === "pam_env.conf" ? parsePamEnvConf : parseEnvironment;
    return read(text, (s) => ctx.fingerprint(s));
  },
  diff: diffEnvironment,
  files: environmentFiles,
});

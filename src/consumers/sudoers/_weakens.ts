/**
 * Which sudo protections an entry takes away: a rule with `NOPASSWD`, a
 * `Defaults` setting that makes rules passwordless or lets the caller's
 * environment reach the command, and the rules an alias feeds. The labels
 * go into a change's `weakens` field, which makes it critical
 * (`src/pipeline/severity.ts` decides).
 *
 * @module
 */
import type { SudoersAlias, SudoersAliasType, SudoersEntry } from "./sudoers_types.ts";

/**
 * The variables sudo removes from a command's environment by default,
 * because each lets the caller run code or redirect files in the command
 * (`sudo -V` as root lists them under "Environment variables to remove";
 * `sudoers_env_test.ts` compares). A trailing `*` is a prefix. Kept from
 * the caller (env_keep, env_check) or taken out of env_delete, each is a
 * way in: BASH_ENV runs a file in every bash script sudo starts, PERL5OPT
 * and PYTHONPATH in every perl or python one, LD_PRELOAD in every program.
 */
export const DANGEROUS_VARIABLES: readonly string[] = [
  "IFS",
  "CDPATH",
  "LOCALDOMAIN",
  "RES_OPTIONS",
  "HOSTALIASES",
  "NLSPATH",
  "PATH_LOCALE",
  "LD_*",
  "_RLD*",
  "TERMINFO",
  "TERMINFO_DIRS",
  "TERMPATH",
  "TERMCAP",
  "ENV",
  "BASH_ENV",
  "PS4",
  "GLOBIGNORE",
  "BASHOPTS",
  "SHELLOPTS",
  "JAVA_TOOL_OPTIONS",
  "PERLIO_DEBUG",
  "PERLLIB",
  "PERL5LIB",
  "PERL5OPT",
  "PERL5DB",
  "FPATH",
  "NULLCMD",
  "READNULLCMD",
  "ZDOTDIR",
  "TMPPREFIX",
  "PYTHONHOME",
  "PYTHONPATH",
  "PYTHONINSPECT",
  "PYTHONUSERBASE",
  "RUBYLIB",
  "RUBYOPT",
];

/** Whether the variable `name` is one of DANGEROUS_VARIABLES (a `*` entry by its prefix). */
export function isDangerousVariable(name: string): boolean {
  return DANGEROUS_VARIABLES.some((v) =>
    v.endsWith("*") ? name.startsWith(v.slice(0, -1)) : v === name
  );
}

/** Whether two variable names or `*`-prefix patterns can name the same variable. */
function overlaps(a: string, b: string): boolean {
  const pa = a.endsWith("*") ? a.slice(0, -1) : undefined;
  const pb = b.endsWith("*") ? b.slice(0, -1) : undefined;
  if (pa !== undefined && pb !== undefined) return pa.startsWith(pb) || pb.startsWith(pa);
  if (pa !== undefined) return b.startsWith(pa);
  if (pb !== undefined) return a.startsWith(pb);
  return a === b;
}

/**
 * Whether an env_keep/env_check/env_delete item (a name, `NAME=value`, or a
 * prefix ending in `*`) can name a dangerous variable.
 */
function namesDangerous(item: string): boolean {
  const name = item.replace(/=.*$/s, "");
  return name !== "" && DANGEROUS_VARIABLES.some((v) => overlaps(name, v));
}

/** Boolean settings whose addition takes a protection away. */
const WEAKENING_FLAGS = new Set([
  "!authenticate", // no password for any rule in scope
  "!env_reset", // the caller's whole environment reaches the command
  "setenv", // every rule as if tagged SETENV
  "!secure_path", // the caller's PATH finds the command
  "!syslog", // sudo's log of what was run goes nowhere
  "!log_allowed", // commands sudo allowed are not logged
  "!tty_tickets", // one password lets every terminal of the user in
  "!use_pty", // the command can push input into the caller's terminal
  "targetpw", // whoever knows the target user's password (root's) gets in
  "rootpw", // whoever knows root's password gets in
  "runaspw", // whoever knows the runas_default user's password gets in
]);

/** The protections a `Defaults` setting takes away when added. */
function settingWeakens(setting: string): string[] {
  if (WEAKENING_FLAGS.has(setting)) return [setting];
  const value = (name: string) => {
    const m = new RegExp(`^${name}=\\s*"?\\s*([^"]*?)\\s*"?$`, "s").exec(setting);
    return m ? m[1] : undefined;
  };
  // A negative timeout: one password, and sudo never asks again on that terminal.
  const timeout = value("timestamp_timeout");
  if (timeout !== undefined) return Number(timeout) < 0 ? ["timestamp_timeout never expires"] : [];
  // One password lets every terminal and process of the user in.
  if (value("timestamp_type") === "global") return ["timestamp_type=global"];
  // Its members need no password and skip secure_path.
  const exempt = value("exempt_group");
  if (exempt !== undefined) return exempt === "" ? [] : [`exempt_group ${exempt}`];
  const m = /^(env_keep|env_check|env_delete)(\+?=|-=)(.*)$/s.exec(setting);
  if (!m) return [];
  // env_keep and env_check let a variable through when added to; env_delete when taken from.
  if ((m[1] === "env_delete") !== (m[2] === "-=")) return [];
  const items = m[3].replace(/^"|"$/g, "").split(/[\s,]+/).filter((x) => x !== "");
  const kept = [...new Set(items.map((x) => x.replace(/=.*$/s, "")).filter(namesDangerous))];
  return kept.map((v) => `${m[1]} ${v}`);
}

/**
 * The protections `e` takes away when it is added (`removed`: when it is
 * removed): NOPASSWD for a rule with that tag, the Defaults settings above,
 * and a `secure_path` setting removed.
 */
export function entryWeakens(e: SudoersEntry, removed = false): string[] {
  if (removed) {
    return e.kind === "default" && e.setting.startsWith("secure_path=")
      ? ["secure_path removed"]
      : [];
  }
  if (e.kind === "rule") {
    const nopasswd = e.specs.some((s) => s.commands.some((c) => c.tags.includes("NOPASSWD")));
    return nopasswd ? ["NOPASSWD"] : [];
  }
  if (e.kind === "default") return settingWeakens(e.setting);
  return [];
}

const bare = (item: string) => item.replace(/^!+/, "");

/** The items of `e` that can name an alias of `type`. */
function aliasSlots(e: SudoersEntry, type: SudoersAliasType): string[] {
  if (e.kind === "alias") return e.aliasType === type ? e.members : [];
  if (e.kind === "default") {
    const scope =
      { User_Alias: "user", Runas_Alias: "runas", Host_Alias: "host", Cmnd_Alias: "command" }[type];
    return e.scope === scope ? e.qualifiers : [];
  }
  if (e.kind !== "rule") return [];
  switch (type) {
    case "User_Alias":
      return e.users;
    case "Host_Alias":
      return e.specs.flatMap((s) => s.hosts);
    case "Runas_Alias":
      return e.specs.flatMap((s) =>
        s.commands.flatMap((c) => [...(c.runas?.users ?? []), ...(c.runas?.groups ?? [])])
      );
    case "Cmnd_Alias":
      return e.specs.flatMap((s) => s.commands.map((c) => c.command));
  }
}

/** For each name, the protections taken away by what uses it as an alias of `type`. */
function labelsByAlias(entries: readonly SudoersEntry[], type: SudoersAliasType) {
  const members = new Map<string, string[]>();
  for (const e of entries) {
    if (e.kind === "alias" && e.aliasType === type) {
      members.set(e.subject, [...(members.get(e.subject) ?? []), ...e.members.map(bare)]);
    }
  }
  const labels = new Map<string, Set<string>>();
  const queue: [string, string][] = [];
  const give = (name: string, label: string) => {
    const set = labels.get(name) ?? new Set<string>();
    labels.set(name, set);
    if (set.has(label)) return;
    set.add(label);
    queue.push([name, label]);
  };
  for (const e of entries) {
    if (e.kind === "alias") continue;
    const w = entryWeakens(e);
    if (w.length === 0) continue;
    for (const x of aliasSlots(e, type)) for (const label of w) give(bare(x), label);
  }
  // An alias inside a used alias is used too: each (name, label) enters the queue once.
  while (queue.length > 0) {
    const [name, label] = queue.pop()!;
    for (const m of members.get(name) ?? []) give(m, label);
  }
  return labels;
}

/**
 * Given every entry sudo reads together, the protections that the rules and
 * Defaults using an alias (directly or through other aliases of its type)
 * take away: a user added to an alias a NOPASSWD rule uses gets NOPASSWD.
 * Linear in the entries, whatever the number of aliases asked about.
 */
export function aliasWeakens(
  entries: readonly SudoersEntry[],
): (alias: SudoersAlias) => string[] {
  const byType = new Map<SudoersAliasType, Map<string, Set<string>>>();
  return (alias) => {
    const labels = byType.get(alias.aliasType) ?? labelsByAlias(entries, alias.aliasType);
    byType.set(alias.aliasType, labels);
    return [...(labels.get(alias.subject) ?? [])];
  };
}

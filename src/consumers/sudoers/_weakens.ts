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

/** Variables that load code into the command sudo runs when kept from the caller. */
const LOADER_VARIABLES = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"];

/** Which of them an env_keep/env_check/env_delete item names (a name, or a prefix ending in `*`). */
function keepsLoader(item: string): string | undefined {
  const name = item.replace(/=.*$/s, "");
  if (name.endsWith("*")) {
    const prefix = name.slice(0, -1);
    return LOADER_VARIABLES.find((v) => v.startsWith(prefix));
  }
  return LOADER_VARIABLES.find((v) => v === name);
}

/** The protections a `Defaults` setting takes away when added. */
function settingWeakens(setting: string): string[] {
  switch (setting) {
    case "!authenticate": // no password for any rule in scope
    case "!env_reset": // the caller's whole environment reaches the command
    case "setenv": // every rule as if tagged SETENV
    case "!secure_path":
    case "!syslog": // sudo's log of what was run goes nowhere
    case "!log_allowed": // commands sudo allowed are not logged
      return [setting];
  }
  // A negative timeout: one password, and sudo never asks again on that terminal.
  const timeout = /^timestamp_timeout=\s*"?\s*(-?[0-9.]+)/.exec(setting);
  if (timeout) return Number(timeout[1]) < 0 ? ["timestamp_timeout never expires"] : [];
  const m = /^(env_keep|env_check|env_delete)(\+?=|-=)(.*)$/s.exec(setting);
  if (!m) return [];
  // env_keep and env_check let a variable through when added to; env_delete when taken from.
  if ((m[1] === "env_delete") !== (m[2] === "-=")) return [];
  const items = m[3].replace(/^"|"$/g, "").split(/[\s,]+/).filter((x) => x !== "");
  const kept = [...new Set(items.map(keepsLoader).filter((v): v is string => v !== undefined))];
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

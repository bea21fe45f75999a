/**
 * /etc/sudo.conf by meaning: what sudo, setuid root, loads and runs before
 * any rule of sudoers is read (sudo.conf(5)). `Plugin NAME FILE [args]`
 * loads FILE (from the plugin directory when relative) into sudo as root;
 * `Path noexec` and `Path intercept` name libraries sudo preloads into the
 * commands it runs, `Path sesh` a program it runs as root, `Path
 * plugin_dir` where relative plugins come from; `Set developer_mode true`
 * lets it load plugins root does not own. Each of those added or changed
 * is critical, and the files they name are watched with it. A line is
 * read when its first word is one of sudo.conf's, in any case (a `#` line
 * is not); `sudo_conf_differential_test.ts` holds the plugin a file makes
 * sudo load against sudo itself.
 *
 * @module
 */
import type { Consumer, IncludedPath } from "../consumer.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { WatchedPrograms } from "../_command_programs.ts";
import { keyedDiff } from "../_keyed_diff.ts";
import { listConsumer } from "../_list_consumer.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";

/** One directive: `Plugin sudoers_policy` → `sudoers.so`, as keyed for a diff. */
export interface SudoDirective {
  /** The directive and its name: `Plugin sudoers_policy`, `Path noexec`, `Set developer_mode`. */
  key: string;
  /** The rest of the line. */
  value: string;
  line: number;
}

/** Where sudo finds a plugin named by a relative path, unless `Path plugin_dir` says. */
const PLUGIN_DIR = "/usr/libexec/sudo/";

/** sudo.conf's directives, by their name in lower case. */
const KINDS = new Map([["plugin", "Plugin"], ["path", "Path"], ["set", "Set"], ["debug", "Debug"]]);

/** Most directives kept of a file. */
const MAX_DIRECTIVES = 1024;

/** The directives of a sudo.conf; a directive named again takes the later line. */
export function parseSudoConf(text: string): SudoDirective[] {
  const out = new Map<string, SudoDirective>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const [word, name0, ...rest] = lines[i].trim().split(/[ \t]+/);
    // sudo takes a directive in any case: `plugin` is `Plugin`.
    const kind = KINDS.get(word.toLowerCase());
    if (kind === undefined || name0 === undefined) continue;
    // A plugin's name is a symbol, kept as written; a path's or setting's name in any case.
    const name = kind === "Plugin" ? name0 : name0.toLowerCase();
    const key = `${kind} ${name}`;
    if (!out.has(key) && out.size >= MAX_DIRECTIVES) continue;
    out.delete(key);
    out.set(key, { key, value: rest.join(" "), line: i + 1 });
  }
  return [...out.values()];
}

/** How serious a change of `d` is, and what it means to say so. */
function meaning(d: SudoDirective): { severity: SeverityLevel; says: string } {
  const [kind, name] = d.key.split(" ");
  if (kind === "Plugin") return { severity: "critical", says: "sudo, as root, loads the plugin" };
  if (kind === "Path") {
    if (name === "noexec" || name === "intercept") {
      return { severity: "critical", says: "sudo preloads into the commands it runs" };
    }
    if (name === "sesh" || name === "plugin_dir") {
      return { severity: "critical", says: "sudo, as root, uses" };
    }
    return { severity: "medium", says: "sudo uses" };
  }
  if (kind === "Set" && name === "developer_mode") {
    return { severity: "critical", says: "sudo loads plugins root does not own when it is on" };
  }
  if (kind === "Debug") return { severity: "high", says: "sudo writes a debug log" };
  return { severity: "medium", says: "sudo's setting" };
}

/** The changes from `before` to `after` in `file`. */
export function diffSudoConf(
  before: readonly SudoDirective[],
  after: readonly SudoDirective[],
  file: string,
): SemanticChange[] {
  const out = new ChangeList("sudo_conf");
  const diff = keyedDiff(before, after, (d) => d.key, (d) => d.value);
  for (const { now: d, was: old } of diff.set) {
    const m = meaning(d);
    out.push({
      action: old ? "sudo_conf_changed" : "sudo_conf_added",
      subject: d.key,
      message: `${m.says}: ${shown(`${d.key} ${d.value}`)}` +
        (old ? ` (was ${shown(old.value)})` : ""),
      changes: [{ field: d.key, ...(old ? { from: old.value } : {}), to: d.value }],
      source: { file, line: d.line },
      severity: m.severity,
    });
  }
  for (const d of diff.removed) {
    out.push({
      action: "sudo_conf_removed",
      subject: d.key,
      message: `sudo.conf no longer says: ${shown(`${d.key} ${d.value}`)}`,
      changes: [{ field: d.key, from: d.value }],
      source: { file, line: d.line },
      severity: "medium",
    });
  }
  return out.done();
}

/**
 * Each plugin's file, by its symbol: a relative one is `Path plugin_dir`
 * (wherever it is set; sudo's own otherwise) and the name run together,
 * as sudo joins them: `Path plugin_dir /opt/pd` with `x.so` is
 * `/opt/pdx.so`.
 */
export function pluginFiles(ds: readonly SudoDirective[]): Map<string, string> {
  const dir = ds.find((d) => d.key === "Path plugin_dir")?.value.split(" ")[0];
  const pluginDir = dir?.startsWith("/") ? dir : PLUGIN_DIR;
  const out = new Map<string, string>();
  for (const d of ds) {
    const file = d.value.split(" ")[0];
    if (!d.key.startsWith("Plugin ") || !file) continue;
    out.set(d.key.slice("Plugin ".length), file.startsWith("/") ? file : pluginDir + file);
  }
  return out;
}

/** The plugins and libraries `ds` make sudo load or run: critical. */
export function sudoConfFiles(ds: readonly SudoDirective[]): IncludedPath[] {
  const out = new WatchedPrograms();
  // sudo expands nothing in a path: a `*` or `$` in one is part of the file's name.
  for (const file of pluginFiles(ds).values()) out.add(file, "critical");
  for (const d of ds) {
    const file = d.value.split(" ")[0];
    if (["Path noexec", "Path intercept", "Path sesh"].includes(d.key) && file?.startsWith("/")) {
      out.add(file, "critical");
    }
  }
  return out.values();
}

/** /etc/sudo.conf. */
export const sudoConfConsumer: Consumer = listConsumer("sudo_conf", {
  parse: (_path, text) => parseSudoConf(text),
  diff: diffSudoConf,
  files: sudoConfFiles,
});

/**
 * What changed in a systemd unit file: settings added and removed. A
 * command added (`ExecStart=`, `ExecStartPre=`, ...) is code the unit will
 * run: critical as root, high as another user. The settings that decide as
 * whom, with what environment and from where it runs are high; the rest
 * medium; a setting removed, medium.
 *
 * @module
 */
import { multisetDiff } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import type { UnitSetting } from "./unit_file.ts";
import { commandAsRoot, isExec, runsAsRoot } from "./unit_programs.ts";

/** Settings that change as whom, with what and where the unit's programs run. */
const STEERING = new Set([
  "User",
  "Group",
  "DynamicUser",
  "SupplementaryGroups",
  "AmbientCapabilities",
  "CapabilityBoundingSet",
  "Environment",
  "EnvironmentFile",
  "ExecSearchPath",
  "WorkingDirectory",
  "RootDirectory",
  "RootImage",
  "BindPaths",
  "NoNewPrivileges",
  "ProtectSystem",
  "ReadWritePaths",
  "LoadCredential",
]);

const text = (s: UnitSetting) => `[${s.section}] ${s.key}=${s.value}`;

/**
 * The changes between two parses of the unit file `file`; `unit` is every
 * setting systemd gives its unit, `after` among them, in its order (as whom
 * its commands run: the unit's file and its drop-ins). Without, `after` alone.
 */
export function diffUnit(
  before: UnitSetting[],
  after: UnitSetting[],
  file: string,
  unit: readonly UnitSetting[] = after,
): SemanticChange[] {
  const { added, removed } = multisetDiff(before, after, text);
  const asRoot = runsAsRoot(unit);
  const out = new ChangeList("systemd");
  for (const s of added) {
    const exec = isExec(s.key) && s.value !== "";
    const root = exec && commandAsRoot(s.value, asRoot);
    out.push({
      action: exec ? "systemd_exec_added" : "systemd_setting_added",
      subject: text(s),
      message: exec
        ? `systemd unit runs ${root ? "as root" : "a command"}: ${shown(`${s.key}=${s.value}`)}`
        : `systemd setting added: ${shown(text(s))}`,
      source: { file, line: s.line },
      severity: exec ? (root ? "critical" : "high") : STEERING.has(s.key) ? "high" : "medium",
    });
  }
  for (const s of removed) {
    out.push({
      action: "systemd_setting_removed",
      subject: text(s),
      message: `systemd setting removed: ${shown(text(s))}`,
      source: { file, line: s.line },
      severity: "medium",
    });
  }
  return out.done();
}

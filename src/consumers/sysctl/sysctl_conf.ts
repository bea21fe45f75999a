/**
 * sysctl.conf and sysctl.d by meaning: the kernel settings systemd-sysctl
 * (and `sysctl --system`) writes at every boot. Some of them name a program
 * the kernel runs as root: `kernel.core_pattern = |/path` at each crash,
 * `kernel.modprobe` at each module the kernel asks for, `kernel.poweroff_cmd`
 * at a poweroff request: one added or changed is critical, and its program
 * is watched with the file. A setting that lowers a protection
 * (`kernel.yama.ptrace_scope`, `kernel.kptr_restrict`, `fs.protected_*`,
 * `kernel.unprivileged_bpf_disabled`, ...) is high; others medium.
 *
 * A line is `key = value` (blanks around both are dropped); a line whose
 * first character is `#` or `;` is a comment, and a leading `-` means a
 * failure to write it is not an error. A key is dotted, or slashed when its
 * first separator is a `/` (`kernel/core_pattern` is `kernel.core_pattern`,
 * a dot in it then part of a name). A key set again takes the later value.
 *
 * @module
 */
import type { Consumer, IncludedPath } from "../consumer.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { keyedDiff } from "../_keyed_diff.ts";
import { WatchedPrograms } from "../_command_programs.ts";
import { listConsumer } from "../_list_consumer.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";

/** One setting: its key (dotted), its value, its line. */
export interface SysctlSetting {
  key: string;
  value: string;
  line: number;
}

/** Most settings kept of a file. */
const MAX_SETTINGS = 4096;

/** A key in its dotted form: `a/b.c/d` is `a.b/c.d` (the first separator decides). */
export function dottedKey(key: string): string {
  const sep = key.search(/[./]/);
  if (sep < 0 || key[sep] === ".") return key;
  return key.replace(/[./]/g, (c) => c === "/" ? "." : "/");
}

/** The settings of a sysctl file (see the module's doc), in the order first set. */
export function parseSysctl(text: string): SysctlSetting[] {
  const out = new Map<string, SysctlSetting>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i].trim();
    if (l === "" || l[0] === "#" || l[0] === ";") continue;
    if (l[0] === "-") l = l.slice(1);
    const eq = l.indexOf("=");
    if (eq < 0) continue;
    const key = dottedKey(l.slice(0, eq).trim());
    if (key === "") continue;
    const s = { key, value: l.slice(eq + 1).trim(), line: i + 1 };
    if (out.has(key) || out.size < MAX_SETTINGS) out.set(key, s);
  }
  return [...out.values()];
}

/** Settings whose value is a program the kernel runs as root (the first word). */
const RUNS_PROGRAM = new Set(["kernel.modprobe", "kernel.poweroff_cmd"]);

/** Settings that keep a protection: a change may lower it. */
const PROTECTION = new Set([
  "kernel.yama.ptrace_scope",
  "kernel.kptr_restrict",
  "kernel.dmesg_restrict",
  "kernel.perf_event_paranoid",
  "kernel.unprivileged_bpf_disabled",
  "kernel.unprivileged_userns_clone",
  "kernel.kexec_load_disabled",
  "kernel.modules_disabled",
  "kernel.randomize_va_space",
  "kernel.sysrq",
  "kernel.core_uses_pid",
  "fs.suid_dumpable",
  "fs.protected_symlinks",
  "fs.protected_hardlinks",
  "fs.protected_fifos",
  "fs.protected_regular",
  "vm.mmap_min_addr",
  "user.max_user_namespaces",
  "dev.tty.ldisc_autoload",
  "net.core.bpf_jit_harden",
  "kernel.io_uring_disabled",
]);

/** The program a setting makes the kernel run as root, if any. */
export function programOf(s: SysctlSetting): string | undefined {
  let run: string | undefined;
  // A core_pattern is a file name, or `|` and the program the kernel pipes the core to.
  if (s.key === "kernel.core_pattern") {
    if (s.value.startsWith("|")) run = s.value.slice(1).trimStart();
  } else if (RUNS_PROGRAM.has(s.key)) run = s.value;
  return run?.split(/\s+/)[0] || undefined;
}

function severityOf(s: SysctlSetting): SeverityLevel {
  if (programOf(s) !== undefined) return "critical";
  return PROTECTION.has(s.key) ? "high" : "medium";
}

/** What changed from `before` to `after` in `file`. */
export function diffSysctl(
  before: readonly SysctlSetting[],
  after: readonly SysctlSetting[],
  file: string,
): SemanticChange[] {
  const out = new ChangeList("sysctl");
  const d = keyedDiff(before, after, (s) => s.key, (s) => s.value);
  for (const { now: s, was: old } of d.set) {
    const program = programOf(s);
    out.push({
      action: old ? "sysctl_setting_changed" : "sysctl_setting_added",
      subject: s.key,
      message: (program
        ? `the kernel runs ${shown(program)} as root (${shown(s.key)} = ${shown(s.value)})`
        : `kernel setting at boot: ${shown(s.key)} = ${shown(s.value)}`) +
        (old ? ` (was ${shown(old.value)})` : ""),
      changes: [{ field: s.key, ...(old ? { from: old.value } : {}), to: s.value }],
      source: { file, line: s.line },
      severity: severityOf(s),
    });
  }
  for (const s of d.removed) {
    out.push({
      action: "sysctl_setting_removed",
      subject: s.key,
      message: `kernel setting no longer made at boot: ${shown(s.key)} = ${shown(s.value)}`,
      changes: [{ field: s.key, from: s.value }],
      source: { file, line: s.line },
      severity: "medium",
    });
  }
  return out.done();
}

/** The programs `settings` make the kernel run as root: critical. */
export function sysctlPrograms(settings: readonly SysctlSetting[]): IncludedPath[] {
  const out = new WatchedPrograms();
  for (const s of settings) {
    const p = programOf(s);
    // The kernel runs the path as it is: no PATH lookup, and a `%` in core_pattern's is a
    // specifier (it names no one file).
    if (p?.startsWith("/") && !p.includes("%")) out.add(p, "critical");
  }
  return out.values();
}

/** sysctl.conf and sysctl.d/*.conf. */
export const sysctlConsumer: Consumer = listConsumer("sysctl", {
  parse: (_path, text) => parseSysctl(text),
  diff: diffSysctl,
  files: sysctlPrograms,
});

/**
 * What changed in a PAM service file: rules added and removed, and what the
 * change does to its auth stack as a whole. A change after which a caller
 * who knows no password gets through auth (`authPassesWithoutPassword`),
 * where before it did not, is critical, whichever lines did it. So is a
 * rule added that runs a program (`pam_exec.so`, which can read the typed
 * password), loads a module from outside the system's module directories,
 * or gives pam_access separators of its own (`fieldsep=`, `listsep=`:
 * bpfink reads access rules with pam_access's defaults).
 *
 * @module
 */
import { lineFate, loadedModule, type PamLine, pamLineText } from "./pam_conf.ts";
import { multisetDiff } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { WEAKENS_FIELD } from "../../pipeline/severity.ts";
import { pamAccessArgs } from "./pam_access_args.ts";

/** Where the system's PAM modules live; a module path elsewhere is unusual. */
const MODULE_DIRS = [
  "/lib/security/",
  "/lib64/security/",
  "/usr/lib/security/",
  "/usr/lib64/security/",
  "/lib/x86_64-linux-gnu/security/",
  "/usr/lib/x86_64-linux-gnu/security/",
  "/lib/aarch64-linux-gnu/security/",
  "/usr/lib/aarch64-linux-gnu/security/",
];

/** Whether the absolute module path `module` is in one of the system's module directories. */
export function inModuleDir(module: string): boolean {
  return MODULE_DIRS.some((d) => module.startsWith(d));
}

/** The ways in a rule opens when added, whatever the stack around it. */
function ruleWeakens(l: PamLine): string[] {
  const loaded = loadedModule(l);
  if (!loaded || l.kind !== "rule") return [];
  const out: string[] = [];
  const module = loaded.path;
  if (loaded.file === "pam_exec.so") out.push(`${l.type} runs a program: ${l.args.join(" ")}`);
  if (module.startsWith("/") && !inModuleDir(module)) {
    out.push(`${l.type} module from ${module}`);
  }
  // Separators of its own make pam_access read every access rule otherwise than bpfink does.
  const access = pamAccessArgs(l);
  for (const k of ["fieldsep", "listsep"] as const) {
    if (access?.[k] !== undefined) {
      out.push(`${l.type} reads access rules with ${k}=${access[k]}, not as bpfink reads them`);
    }
  }
  return out;
}

const key = (l: PamLine) => pamLineText(l);

/**
 * Where and how libpam fails to set the service up from `lines`, when it
 * does: it hangs reading the file, gives up on it, or crashes on a line.
 * Every program that uses the service then fails (no login, no sudo).
 * An include cycle, found only by expanding the stack, is not named here.
 */
export function serviceBroken(lines: PamLine[]): { line: number; what: string } | undefined {
  for (const l of lines) {
    if (l.kind === "stop") {
      const how = l.how === "hang" ? "libpam hangs reading it" : "libpam gives up on it";
      return { line: l.line, what: `${how} (${l.why})` };
    }
    if (l.kind === "include" && l.file === null) {
      return { line: l.line, what: "libpam crashes reading it (@include without a file)" };
    }
    if (l.kind !== "rule") continue;
    const fate = lineFate(l);
    if (fate.abort) return { line: l.line, what: `libpam gives up on it (${fate.abort})` };
    if (fate.crash) return { line: l.line, what: `libpam crashes reading it (${fate.crash})` };
  }
  return undefined;
}

/**
 * The changes between two parses of the PAM file `file`; `opened` says
 * whether auth now lets in a caller without a password and did not before
 * (`undefined`: not worked out).
 */
export function diffPam(
  before: PamLine[],
  after: PamLine[],
  file: string,
  auth?: { before: boolean; after: boolean },
): SemanticChange[] {
  // Where libpam stops reading shows as the rules after it gone, and in the parse's errors.
  const rules = (ls: PamLine[]) => ls.filter((l) => l.kind !== "stop");
  const { added, removed } = multisetDiff(rules(before), rules(after), key);
  const out = new ChangeList("pam");
  for (const l of added) {
    const w = ruleWeakens(l);
    out.push({
      action: "pam_rule_added",
      subject: key(l),
      message: `pam rule added: ${shown(key(l))}`,
      ...(w.length > 0 ? { changes: [{ field: WEAKENS_FIELD, to: w.map((x) => shown(x)) }] } : {}),
      source: { file, line: l.line },
    });
  }
  for (const l of removed) {
    out.push({
      action: "pam_rule_removed",
      subject: key(l),
      message: `pam rule removed: ${shown(key(l))}`,
      source: { file, line: l.line },
    });
  }
  const broken = serviceBroken(after);
  if (broken && !serviceBroken(before)) {
    out.always({
      action: "pam_service_broken",
      message: `${shown(file)}: ${broken.what} at line ${broken.line}: ` +
        "every program that uses this service fails",
      source: { file, line: broken.line },
      severity: "high",
    });
  }
  if (auth && auth.before !== auth.after) {
    out.always(
      auth.after
        ? {
          action: "pam_auth_opened",
          message: `${shown(file)}: auth now lets in a caller who knows no password`,
          changes: [{ field: WEAKENS_FIELD, to: ["auth passes without a password"] }],
          source: { file },
        }
        : {
          action: "pam_auth_closed",
          message: `${shown(file)}: auth no longer lets in a caller who knows no password`,
          source: { file },
          severity: "medium",
        },
    );
  }
  return out.done();
}

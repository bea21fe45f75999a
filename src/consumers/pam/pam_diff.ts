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
import type { ServicesChanged } from "./pam_services.ts";

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

/** What a change does to the auth stacks: the file's own, and other services' through it. */
export interface AuthChange {
  /** Whether the file's own stack lets in a caller who knows no password, before and after. */
  before: boolean;
  after: boolean;
  /** The other services whose stacks include it that it opened and closed (`pam_services.ts`). */
  services?: ServicesChanged;
}

/** At most this many services are named in a message; the rest are counted. */
const NAMED_SERVICES = 8;

/** `sshd, login and 3 more`. */
function serviceList(names: string[]): string {
  const named = names.slice(0, NAMED_SERVICES).map((n) => shown(n)).join(", ");
  const more = names.length - NAMED_SERVICES;
  return more > 0 ? `${named} and ${more} more` : named;
}

/**
 * What opening or closing auth says: the file's own stack, and the stacks of
 * the services that include it.
 */
function authChanges(file: string, auth: AuthChange, out: ChangeList): void {
  const own = auth.after !== auth.before;
  const services = auth.services ?? { opened: [], closed: [] };
  /** `auth, and the auth of sshd, which includes it,`: who the change opened or closed. */
  const whose = (self: boolean, names: string[]) => {
    const through = names.length === 0
      ? ""
      : `the auth of ${serviceList(names)}, which ${
        names.length === 1 ? "includes" : "include"
      } it,`;
    return self ? (through ? `auth, and ${through}` : "auth") : through;
  };
  if ((own && auth.after) || services.opened.length > 0) {
    out.always({
      action: "pam_auth_opened",
      message: `${shown(file)}: ${
        whose(own && auth.after, services.opened)
      } now lets in a caller who knows no password`,
      changes: [{ field: WEAKENS_FIELD, to: ["auth passes without a password"] }],
      source: { file },
    });
  }
  if ((own && !auth.after) || services.closed.length > 0) {
    out.always({
      action: "pam_auth_closed",
      message: `${shown(file)}: ${
        whose(own && !auth.after, services.closed)
      } no longer lets in a caller who knows no password`,
      source: { file },
      severity: "medium",
    });
  }
}

/**
 * The changes between two parses of the PAM file `file`; `auth` says
 * whether auth lets in a caller without a password, before and after, in
 * the file and in the services that include it (undefined: not worked
 * out).
 */
export function diffPam(
  before: PamLine[],
  after: PamLine[],
  file: string,
  auth?: AuthChange,
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
  if (auth) authChanges(file, auth, out);
  return out.done();
}

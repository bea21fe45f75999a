/**
 * Whether a PAM auth stack lets in someone who knows no password: libpam's
 * dispatch (`_pam_dispatch_aux`: impression and status, the actions `ok`,
 * `done`, `bad`, `die`, `ignore`, `reset` and jumps, `include`, `substack`
 * and Debian's `@include`) run over what each module returns for a caller
 * who is not root and gives a wrong password. A change that turns the
 * answer from no to yes opens a way in, whatever the lines look like: a
 * `sufficient pam_permit.so` on top, a `pam_deny.so` made optional, a jump
 * that skips it.
 *
 * What a module returns is measured (`pam_stack_differential_test.ts` runs
 * real stacks through `pamtester`); a module bpfink does not know is taken
 * to succeed, the cautious side. The lines are libpam's (`pam_conf.ts`):
 * a line it cannot make sense of is a handler that fails under its
 * control, a file it gives up on keeps the handlers read before it (and
 * fails its include; the service file itself then fails), and one that
 * crashes or hangs libpam (an include cycle does) lets nobody in.
 *
 * @module
 */
import { isPamType, lineFate, pamFileOf, type PamLine, parsePamConf } from "./pam_conf.ts";
import { ACTION, codeOf, controlActions, type PamResult } from "./pam_control.ts";

/** The modules whose auth result bpfink knows, by base name without `.so`. */
const MODULE_RESULTS: Readonly<Record<string, PamResult>> = {
  // Ask for proof the caller lacks.
  pam_unix: "auth_err",
  pam_deny: "auth_err",
  pam_rootok: "auth_err",
  pam_sss: "auth_err",
  pam_ldap: "auth_err",
  pam_krb5: "auth_err",
  pam_winbind: "auth_err",
  pam_google_authenticator: "auth_err",
  pam_u2f: "auth_err",
  pam_oath: "auth_err",
  pam_yubico: "auth_err",
  pam_radius_auth: "auth_err",
  pam_userdb: "auth_err",
  pam_selinux: "auth_err",
  // Let the caller on.
  pam_permit: "success",
  // Neither (set up the session or log, and stay out of the decision).
  pam_faildelay: "ignore",
  pam_env: "ignore",
  pam_nologin: "ignore",
  pam_warn: "ignore",
  pam_group: "ignore",
  pam_mail: "ignore",
  pam_keyinit: "ignore",
  pam_issue: "ignore",
  // No auth function: libpam runs none and reports the module unknown.
  pam_motd: "module_unknown",
  pam_limits: "module_unknown",
  pam_loginuid: "module_unknown",
  pam_umask: "module_unknown",
  pam_systemd: "module_unknown",
  pam_mkhomedir: "module_unknown",
  pam_namespace: "module_unknown",
  pam_tty_audit: "module_unknown",
  pam_xauth: "module_unknown",
};

/** Whether a module exists, by its path as a rule writes it (relative to the module directory or absolute). */
export type ModuleExists = (module: string) => boolean;

/**
 * The result of `module` for a caller without credentials: a module that
 * does not exist (when `exists` is given) is unknown to libpam; one bpfink
 * does not know succeeds, the cautious side.
 */
function resultOf(module: string, exists?: ModuleExists): number {
  if (exists && !exists(module)) return codeOf("module_unknown");
  const base = module.slice(module.lastIndexOf("/") + 1).replace(/\.so$/, "");
  return codeOf(Object.hasOwn(MODULE_RESULTS, base) ? MODULE_RESULTS[base] : "success");
}

const SUCCESS = codeOf("success");
const IGNORE = codeOf("ignore");
/** What libpam's failing handlers return (`PAM_MUST_FAIL_CODE`). */
const MUST_FAIL = codeOf("perm_denied");
/** A handler libpam adds for an include that failed: `bad` whatever it returns. */
const ALL_BAD: number[] = controlActions(null);

/**
 * One handler of the flattened stack: what it returns and its control's
 * action for each result, at a substack depth; or a substack's own line
 * (`marker`), which runs nothing but counts as one module for a jump, as
 * libpam's substack handler does.
 */
interface Step {
  actions: number[];
  result: number;
  level: number;
  marker?: boolean;
}

/**
 * libpam's bound on substack depth: it reads no file at substack level 16
 * (that substack fails). Includes have no bound: an include cycle within
 * one substack level recurses until libpam crashes.
 */
const MAX_LEVEL = 16;
/**
 * Most steps a stack is expanded to. A file that substacks itself ten times
 * would expand to 10¹⁵ steps within libpam's depth; past this bound the
 * stack is not worked out and counts as letting anyone in (the cautious
 * side: no real stack comes near it).
 */
const MAX_STEPS = 10_000;

class TooLarge extends Error {}
/** libpam crashes or hangs setting up the service: nobody gets in. */
class Unusable extends Error {}

/**
 * Reads another file of /etc/pam.d (or an absolute path); undefined when
 * missing, empty for a directory, null when too large to read (libpam reads
 * it whole: the stack then counts as letting anyone in, the cautious side).
 */
export type PamReader = (path: string) => string | Uint8Array | undefined | null;

/** What one expansion shares: the files read (each parsed once), the lines visited. */
interface Expansion {
  read: PamReader;
  exists?: ModuleExists;
  parsed: Map<string, PamLine[] | undefined>;
  visited: number;
}

/**
 * Adds to `out` the auth handlers libpam installs reading `lines` for the
 * type `want` (`any` for the service file itself and what it `@include`s,
 * `auth` under an auth include or substack), at substack `level`; `chain`
 * is the files being read at this level, which include this one. False
 * when libpam gives up on the file: the handlers before stay, as libpam's
 * do.
 */
function flatten(
  lines: PamLine[],
  x: Expansion,
  want: "any" | "auth",
  level: number,
  chain: string[],
  out: Step[],
): boolean {
  const fail = () => out.push({ actions: ALL_BAD, result: MUST_FAIL, level });
  /** Reads `file` into `out` at `lvl`; false when it is missing, too deep or given up on. */
  const include = (file: string, wantThere: "any" | "auth", lvl: number): boolean => {
    if (lvl >= MAX_LEVEL) return false;
    const path = pamFileOf(file);
    if (lvl === level && chain.includes(path)) throw new Unusable();
    if (!x.parsed.has(path)) {
      const content = x.read(path);
      if (content === null) throw new TooLarge();
      x.parsed.set(path, content === undefined ? undefined : parsePamConf(content).entries);
    }
    const included = x.parsed.get(path);
    const there = lvl === level ? [...chain, path] : [path];
    return included !== undefined && flatten(included, x, wantThere, lvl, there, out);
  };
  for (const l of lines) {
    // Every line visited counts, so that a file of includes alone cannot expand without end.
    if (++x.visited > MAX_STEPS || out.length >= MAX_STEPS) throw new TooLarge();
    if (l.kind === "stop") {
      if (l.how === "hang") throw new Unusable();
      return false;
    }
    if (l.kind === "include") {
      if (l.file === null) throw new Unusable();
      if (include(l.file, want, level)) continue;
      // The failing handler is of the type read: none for `any` (libpam gives up on the file).
      if (want === "any") return false;
      fail();
      continue;
    }
    // An unknown type is the type read, auth at the top.
    const type = isPamType(l.type) ? l.type : want === "any" ? "auth" : want;
    if (want !== "any" && type !== want) continue;
    const fate = lineFate(l);
    if (fate.abort) return false;
    if (fate.crash) throw new Unusable();
    // Other types' includes are not followed: a file only they read cannot open auth.
    if (type !== "auth") continue;
    if (l.control === "include" || l.control === "substack") {
      const sub = l.control === "substack";
      if (sub) out.push({ actions: ALL_BAD, result: IGNORE, level, marker: true });
      if (!include(l.module!, "auth", sub ? level + 1 : level)) fail();
      continue;
    }
    out.push({
      actions: controlActions(l.control),
      result: fate.mustFail ? MUST_FAIL : resultOf(l.module!, x.exists),
      level,
    });
  }
  return true;
}

/**
 * Whether the auth stack of `lines` (a file of /etc/pam.d; `read` gives
 * the files it includes) lets in a caller who is not root and knows no
 * password (a stack past MAX_STEPS steps counts as letting anyone in).
 * With `exists`, a module that does not exist is unknown to libpam, as it
 * is; without it, a module bpfink does not know counts as succeeding.
 * `known` gives the lines of included files in place of what `read` would
 * give (undefined: the file is missing), as they were before a change.
 */
export function authPassesWithoutPassword(
  lines: PamLine[],
  read: PamReader,
  exists?: ModuleExists,
  known?: ReadonlyMap<string, PamLine[] | undefined>,
): boolean {
  return authStackVerdict(lines, read, exists, known) !== "closed";
}

/**
 * What `authPassesWithoutPassword` works out, with why: `open` (a caller
 * who knows no password gets in), `closed`, or `too_large` (the stack
 * expands past MAX_STEPS steps and is not worked out; it counts as open).
 */
export function authStackVerdict(
  lines: PamLine[],
  read: PamReader,
  exists?: ModuleExists,
  known?: ReadonlyMap<string, PamLine[] | undefined>,
): "open" | "closed" | "too_large" {
  const steps: Step[] = [];
  const parsed = new Map(known ?? []);
  try {
    // A service file libpam gives up on is not used at all (pam_start fails).
    if (!flatten(lines, { read, exists, parsed, visited: 0 }, "any", 0, [], steps)) {
      return "closed";
    }
  } catch (e) {
    if (e instanceof TooLarge) return "too_large";
    if (e instanceof Unusable) return "closed";
    throw e;
  }
  type Impression = "undef" | "positive" | "negative";
  let impression: Impression = "undef";
  let status = MUST_FAIL;
  // The state on entering each substack level, which `reset` goes back to.
  const saved: { impression: Impression; status: number }[] = [{ impression, status }];
  let prevLevel = 0;
  // After a decision in a substack: the first later step at a lower level.
  const endOf = (at: number) => {
    const level = steps[at].level;
    let j = at + 1;
    while (j < steps.length && steps[j].level >= level) j++;
    return j;
  };
  for (let i = 0; i < steps.length;) {
    const s = steps[i];
    if (prevLevel < s.level) saved[s.level] = { impression, status };
    prevLevel = s.level;
    if (s.marker) {
      i++;
      continue;
    }
    const action = s.actions[s.result];
    if (action === ACTION.reset) {
      ({ impression, status } = saved[s.level] ?? saved[0]);
    } else if (action === ACTION.ok || action === ACTION.done) {
      // An ignore result taken as ok sets the status too: libpam skips it only when replaying a
      // frozen chain (setcred), never in authenticate.
      if (impression === "undef" || (impression === "positive" && status === SUCCESS)) {
        impression = "positive";
        status = s.result;
      }
      if (impression === "positive" && action === ACTION.done) {
        i = endOf(i);
        continue;
      }
    } else if (action === ACTION.bad || action === ACTION.die) {
      if (impression !== "negative") {
        impression = "negative";
        status = s.result === IGNORE ? MUST_FAIL : s.result;
      }
      if (action === ACTION.die) {
        i = endOf(i);
        continue;
      }
    } else if (action !== ACTION.ignore) {
      // Skip `action` steps of this level (a substack counts as one); a jump past the end, or a
      // negative number no action has (a wrapped jump), is libpam's "bad jump", a failure.
      let n = action;
      let j = i;
      while (n > 0 && j + 1 < steps.length && steps[j + 1].level >= s.level) {
        do j++; while (j + 1 < steps.length && steps[j + 1].level > s.level);
        n--;
      }
      if (n !== 0) {
        impression = "negative";
        status = MUST_FAIL;
      }
      i = j + 1;
      continue;
    }
    i++;
  }
  return status === SUCCESS && impression === "positive" ? "open" : "closed";
}

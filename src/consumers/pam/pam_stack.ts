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
 * to succeed, the cautious side.
 *
 * @module
 */
import { type PamLine, parsePamConf } from "./pam_conf.ts";

/** A module's result for this caller (libpam's return codes, by their control names). */
type Result =
  | "success"
  | "ignore"
  | "auth_err"
  | "perm_denied"
  | "service_err"
  | "new_authtok_reqd";

/** The modules whose auth result bpfink knows, by base name without `.so`. */
const MODULE_RESULTS: Readonly<Record<string, Result>> = {
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
  // No auth function: libpam reports an error.
  pam_motd: "service_err",
  pam_limits: "service_err",
  pam_loginuid: "service_err",
  pam_umask: "service_err",
  pam_systemd: "service_err",
  pam_mkhomedir: "service_err",
  pam_selinux: "service_err",
  pam_namespace: "service_err",
  pam_tty_audit: "service_err",
  pam_xauth: "service_err",
};

/** The result of `module` (a path or a name) for a caller without credentials. */
function resultOf(module: string): Result {
  const base = module.slice(module.lastIndexOf("/") + 1).replace(/\.so$/, "");
  return Object.hasOwn(MODULE_RESULTS, base) ? MODULE_RESULTS[base] : "success";
}

type Action = "ok" | "done" | "bad" | "die" | "ignore" | "reset" | number;

/** The action `control` takes on `result` (libpam's defaults for the keywords). */
function actionOf(control: string, result: Result): Action {
  const good = result === "success" || result === "new_authtok_reqd";
  switch (control) {
    case "required":
      return good ? "ok" : result === "ignore" ? "ignore" : "bad";
    case "requisite":
      return good ? "ok" : result === "ignore" ? "ignore" : "die";
    case "optional":
      return good ? "ok" : "ignore";
    case "sufficient":
      return good ? "done" : "ignore";
  }
  if (!control.startsWith("[")) return "bad";
  const pairs = new Map<string, string>();
  for (const p of control.slice(1, -1).split(" ")) {
    const eq = p.indexOf("=");
    if (eq > 0) pairs.set(p.slice(0, eq).toLowerCase(), p.slice(eq + 1).toLowerCase());
  }
  // An unlisted value without a default is `bad`.
  const a = pairs.get(result) ?? pairs.get("default") ?? "bad";
  if (/^[0-9]+$/.test(a)) return Number(a);
  return (["ok", "done", "bad", "die", "ignore", "reset"] as const).find((x) => x === a) ?? "bad";
}

/**
 * One step of the flattened stack: a module under a control, at a
 * substack depth; or a substack's own line (`marker`), which runs nothing
 * but counts as one module for a jump, as libpam's substack handler does.
 */
interface Step {
  control: string;
  result: Result;
  level: number;
  marker?: boolean;
}

/** libpam's bound on include and substack depth. */
const MAX_DEPTH = 16;
/**
 * Most steps a stack is expanded to. A file that includes itself ten times
 * would expand to 10¹⁶ steps within libpam's depth; past this bound the
 * stack is not worked out and counts as letting anyone in (the cautious
 * side: no real stack comes near it).
 */
const MAX_STEPS = 10_000;

class TooLarge extends Error {}

/** Reads another file of /etc/pam.d (or an absolute path); undefined when missing. */
export type PamReader = (path: string) => string | undefined;

const PAM_DIR = "/etc/pam.d";
const pathOf = (file: string) => file.startsWith("/") ? file : `${PAM_DIR}/${file}`;

/** What one expansion shares: the files read (each parsed once), the lines visited. */
interface Expansion {
  read: PamReader;
  parsed: Map<string, PamLine[] | undefined>;
  visited: number;
}

/** The auth steps of `lines`, includes expanded (a missing file fails, as libpam's does). */
function flatten(lines: PamLine[], x: Expansion, level: number, depth: number, out: Step[]): void {
  const fail = () => out.push({ control: "required", result: "service_err", level });
  for (const l of lines) {
    // Every line visited counts, so that a file of includes alone cannot expand without end.
    if (++x.visited > MAX_STEPS || out.length >= MAX_STEPS) throw new TooLarge();
    if (
      l.kind === "include" ||
      (l.type === "auth" && (l.control === "include" || l.control === "substack"))
    ) {
      const path = pathOf(l.kind === "include" ? l.file : l.module);
      if (!x.parsed.has(path)) {
        const text = x.read(path);
        x.parsed.set(path, text === undefined ? undefined : parsePamConf(text).entries);
      }
      const included = depth < MAX_DEPTH ? x.parsed.get(path) : undefined;
      if (included === undefined) {
        fail();
        continue;
      }
      const sub = l.kind === "rule" && l.control === "substack";
      if (sub) out.push({ control: "substack", result: "ignore", level, marker: true });
      flatten(included, x, sub ? level + 1 : level, depth + 1, out);
      continue;
    }
    if (l.type !== "auth") continue;
    out.push({ control: l.control, result: resultOf(l.module), level });
  }
}

/**
 * Whether the auth stack of `lines` (a file of /etc/pam.d; `read` gives
 * the files it includes) lets in a caller who is not root and knows no
 * password (a stack past MAX_STEPS steps counts as letting anyone in).
 */
export function authPassesWithoutPassword(lines: PamLine[], read: PamReader): boolean {
  const steps: Step[] = [];
  try {
    flatten(lines, { read, parsed: new Map(), visited: 0 }, 0, 0, steps);
  } catch (e) {
    if (e instanceof TooLarge) return true;
    throw e;
  }
  type Impression = "undef" | "positive" | "negative";
  let impression: Impression = "undef";
  let status: Result | "fail" = "fail";
  // The state on entering each substack level, which `reset` goes back to.
  const saved: { impression: Impression; status: Result | "fail" }[] = [{ impression, status }];
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
    const action = actionOf(s.control, s.result);
    if (action === "reset") {
      ({ impression, status } = saved[s.level] ?? saved[0]);
    } else if (action === "ok" || action === "done") {
      // An ignore result taken as ok sets the status too: libpam skips it only when replaying a
      // frozen chain (setcred), never in authenticate.
      if (impression === "undef" || (impression === "positive" && status === "success")) {
        impression = "positive";
        status = s.result;
      }
      if (impression === "positive" && action === "done") {
        i = endOf(i);
        continue;
      }
    } else if (action === "bad" || action === "die") {
      if (impression !== "negative") {
        impression = "negative";
        status = s.result === "ignore" ? "fail" : s.result;
      }
      if (action === "die") {
        i = endOf(i);
        continue;
      }
    } else if (typeof action === "number") {
      // Skip `action` steps of this level (a substack counts as one).
      let n = action;
      let j = i;
      while (n > 0 && j + 1 < steps.length && steps[j + 1].level >= s.level) {
        do j++; while (j + 1 < steps.length && steps[j + 1].level > s.level);
        n--;
      }
      if (n > 0) {
        // A jump past the end of the stack: libpam's "bad jump", a failure.
        impression = "negative";
        status = "fail";
      }
      i = j + 1;
      continue;
    }
    i++;
  }
  return status === "success" && impression === "positive";
}

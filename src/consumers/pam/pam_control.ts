/**
 * What a PAM control does with each result a module may return, as
 * libpam 1.5.2 sets it up (`_pam_parse_conf_file` and `_pam_parse_control`):
 * the keywords `required`, `requisite`, `optional`, `sufficient` (any
 * case), or else a list of `value=action` pairs, whether written in
 * brackets or not (`auth success=done pam_permit.so` is a list). In a list,
 * values and actions are matched case-sensitively by prefix, in libpam's
 * table order, with no blank needed between pairs (`default=badsuccess=ok`
 * is two); `default` fills only the values not yet set (the first one
 * wins); a jump is a decimal number, wrapping as a C int does; anything
 * else (`SUCCESS=ok`, `success=ok foo`, `default=0`) makes every value
 * `bad`. Values left unset are `bad`.
 *
 * @module
 */

/** libpam's return codes, in the order of its table (index = code); `default` follows. */
export const PAM_RETURNS = [
  "success",
  "open_err",
  "symbol_err",
  "service_err",
  "system_err",
  "buf_err",
  "perm_denied",
  "auth_err",
  "cred_insufficient",
  "authinfo_unavail",
  "user_unknown",
  "maxtries",
  "new_authtok_reqd",
  "acct_expired",
  "session_err",
  "cred_unavail",
  "cred_expired",
  "cred_err",
  "no_module_data",
  "conv_err",
  "authtok_err",
  "authtok_recover_err",
  "authtok_lock_busy",
  "authtok_disable_aging",
  "try_again",
  "ignore",
  "abort",
  "authtok_expired",
  "module_unknown",
  "bad_item",
  "conv_again",
  "incomplete",
] as const;

/** A return code by name. */
export type PamResult = (typeof PAM_RETURNS)[number];
/** The code of `r`. */
export const codeOf = (r: PamResult): number => PAM_RETURNS.indexOf(r);

/** Actions as libpam encodes them: a jump is a positive number. */
export const ACTION = { ignore: 0, ok: -1, done: -2, bad: -3, die: -4, reset: -5 } as const;
const UNDEF = -6;
const ACTION_WORDS = ["ignore", "ok", "done", "bad", "die", "reset"];
const VALUES = [...PAM_RETURNS, "default"];

/** The control keywords, as libpam compares them (ASCII, any case). */
const KEYWORDS = ["required", "requisite", "optional", "sufficient", "include", "substack"];

/** `s` with ASCII letters lowered, as `strcasecmp` compares (no other letter folds). */
export const asciiLower = (s: string): string =>
  s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/** The keyword `word` is (any case), if it is one. */
export function controlKeyword(word: string): string | undefined {
  const w = asciiLower(word);
  return KEYWORDS.includes(w) ? w : undefined;
}

const isSpace = (c: string | undefined) =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

/** `_pam_parse_control` over `list` into `actions`. */
function parseList(actions: number[], list: string): void {
  let i = 0;
  const fail = () => void actions.fill(ACTION.bad);
  while (i < list.length) {
    while (isSpace(list[i])) i++;
    if (i >= list.length) break;
    const ret = VALUES.findIndex((v) => list.startsWith(v, i));
    if (ret < 0) return fail();
    i += VALUES[ret].length;
    if (i >= list.length) return fail();
    while (isSpace(list[i])) i++;
    if (list[i] !== "=") return fail();
    i++;
    while (isSpace(list[i])) i++;
    if (i >= list.length) return fail();
    let act = ACTION_WORDS.findIndex((a) => list.startsWith(a, i));
    if (act >= 0) {
      i += ACTION_WORDS[act].length;
      act = -act;
    } else {
      if (!/[0-9]/.test(list[i] ?? "")) return fail();
      act = 0;
      while (i < list.length && /[0-9]/.test(list[i])) {
        act = (Math.imul(act, 10) + (list.charCodeAt(i++) - 48)) | 0;
      }
      if (act === 0) return fail();
    }
    if (ret < PAM_RETURNS.length) actions[ret] = act;
    else for (let k = 0; k < actions.length; k++) if (actions[k] === UNDEF) actions[k] = act;
  }
}

/**
 * The action for each return code (by code) of a rule's `control` as
 * parse stores it: a keyword, or a list in brackets; `null` (no control
 * written) is `bad` for every code. (A list without brackets, as an older
 * bpfink stored one, is read as a list too.)
 */
export function controlActions(control: string | null): number[] {
  const actions = new Array<number>(PAM_RETURNS.length).fill(UNDEF);
  const set = (r: PamResult, a: number) => actions[codeOf(r)] = a;
  switch (control === null ? null : controlKeyword(control)) {
    case "required":
      set("success", ACTION.ok), set("new_authtok_reqd", ACTION.ok), set("ignore", ACTION.ignore);
      return actions.map((a) => a === UNDEF ? ACTION.bad : a);
    case "requisite":
      set("success", ACTION.ok), set("new_authtok_reqd", ACTION.ok), set("ignore", ACTION.ignore);
      return actions.map((a) => a === UNDEF ? ACTION.die : a);
    case "optional":
      set("success", ACTION.ok), set("new_authtok_reqd", ACTION.ok);
      return actions.map((a) => a === UNDEF ? ACTION.ignore : a);
    case "sufficient":
      set("success", ACTION.done), set("new_authtok_reqd", ACTION.done);
      return actions.map((a) => a === UNDEF ? ACTION.ignore : a);
  }
  if (control !== null) {
    const list = control.startsWith("[") && control.endsWith("]") ? control.slice(1, -1) : control;
    parseList(actions, list);
  }
  return actions.map((a) => a === UNDEF ? ACTION.bad : a);
}

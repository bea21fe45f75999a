/**
 * apt's hooks: the commands apt runs through `/bin/sh -c`, as root, around
 * each install or update (apt.conf(5)), each a child of a hook option:
 * `DPkg::Pre-Invoke`,
 * `DPkg::Post-Invoke`, `DPkg::Pre-Install-Pkgs`, `APT::Update::Pre-Invoke`,
 * `APT::Update::Post-Invoke`, `APT::Update::Post-Invoke-Success` and any
 * other `…Invoke…` list under `DPkg::` or `APT::`; and the programs
 * `Dir::Bin::*` names (dpkg, methods, solvers, ...), which apt runs as root in
 * place of its own. The file is read as apt
 * reads its configuration: `Name "value";`, scopes `Name { … };` whose
 * names join with `::` (case-insensitive), list items `"value";`, `//`,
 * `#` and `/* … *\/` comments, `#include` and `#clear` lines.
 *
 * @module
 */
import type { HookCommand, HookFormat } from "./hook_consumer.ts";
import type { ParseError } from "../parse_result.ts";

/**
 * Whether the option `name` (its scopes joined by `::`) is a hook apt runs
 * commands of, or `Dir::Bin` (and its lists, `Dir::Bin::solvers { … }`),
 * whose children name the programs apt runs as root in place of its own
 * (`Dir::Bin::dpkg "/tmp/x";` runs `/tmp/x` at each install).
 */
export function isHook(name: string): boolean {
  const n = name.toLowerCase();
  if (/^dir::bin(::[^:]+)?$/.test(n)) return true;
  return /^(dpkg|apt)::/.test(n) &&
    /(^|::)(pre|post)-invoke(-success)?$|::pre-install-pkgs$/.test(n);
}

/** One token: a word (option names, `{`, `}`, `;`) or a quoted string, and its line. */
interface Token {
  text: string;
  quoted: boolean;
  line: number;
}

/** Most tokens read of one file, and the deepest scope. */
const MAX_TOKENS = 1_000_000;
const MAX_DEPTH = 64;

function tokens(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length && out.length < MAX_TOKENS) {
    const c = text[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (let j = i; j < stop; j++) if (text[j] === "\n") line++;
      i = stop;
    } else if (c === "#") {
      // `#include` and `#clear` are directives, other `#` lines comments: neither names a hook.
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end < 0 ? text.length : end;
      const s = text.slice(i + 1, stop);
      out.push({ text: s, quoted: true, line });
      for (const ch of s) if (ch === "\n") line++;
      i = stop + 1;
    } else if (c === "{" || c === "}" || c === ";") {
      out.push({ text: c, quoted: false, line });
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};"]/.test(text[j])) j++;
      out.push({ text: text.slice(i, j), quoted: false, line });
      i = j;
    }
  }
  return out;
}

/** The hook commands of an apt configuration file. */
export function aptHooks(text: string): { entries: HookCommand[]; errors: ParseError[] } {
  const entries: HookCommand[] = [];
  const errors: ParseError[] = [];
  const scope: string[] = [];
  const t = tokens(text);
  // apt runs the values of a hook's children (`Hook:: "cmd";`, `Hook { "cmd"; };`,
  // `Hook::name "cmd";`), not a value set on the hook itself.
  // A list item (`Hook:: "cmd"`) is added; a named child set again keeps its place, with the
  // later value (apt's configuration is a tree).
  const named = new Map<string, number>();
  const add = (name: string, value: Token) => {
    const list = name.endsWith("::");
    const parent = list ? name.slice(0, -2) : name.slice(0, name.lastIndexOf("::"));
    if (!name.includes("::") || !isHook(parent)) return;
    const at = list ? undefined : named.get(name.toLowerCase());
    const entry = { line: value.line, setting: `${name} "${value.text}"`, command: value.text };
    if (at !== undefined) entries[at] = entry;
    else {
      if (!list) named.set(name.toLowerCase(), entries.length);
      entries.push(entry);
    }
  };
  for (let i = 0; i < t.length; i++) {
    const tok = t[i];
    if (!tok.quoted && tok.text === "}") {
      if (scope.length === 0) errors.push({ line: tok.line, message: "a `}` closes no scope" });
      scope.pop();
      continue;
    }
    if (!tok.quoted && tok.text === ";") continue;
    if (tok.quoted) {
      // A list item: `Name { "value"; };`.
      add(`${scope.join("::")}::`, tok);
      continue;
    }
    const name = [...scope, tok.text].join("::");
    const next = t[i + 1];
    if (next && !next.quoted && next.text === "{") {
      if (scope.length >= MAX_DEPTH) {
        errors.push({ line: tok.line, message: `scopes nested past ${MAX_DEPTH}` });
        return { entries: entries.filter((e) => e.command.trim() !== ""), errors };
      }
      scope.push(tok.text.replace(/::$/, ""));
      i++;
    } else if (next?.quoted) {
      // `Name "value";`, or a list's `Name:: "value";`.
      add(name, next);
      i++;
    } else {
      errors.push({ line: tok.line, message: "an option without a value" });
    }
  }
  return { entries: entries.filter((e) => e.command.trim() !== ""), errors };
}

/** apt's configuration (`apt.conf`, `apt.conf.d/*`). */
export const APT: HookFormat = {
  name: "apt",
  runner: "apt",
  when: "around each package operation",
  commands: aptHooks,
  // apt runs hooks with the PATH of the root shell that ran it; Debian's root PATH.
  path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

/**
 * Which sshd_config lines open a way in: a setting that lets more people
 * log in, with less proof, or with less left in the logs. Added, such a
 * line weakens sshd; removed, a line whose value is stricter than sshd's
 * default does too (the default comes back). Labels go into a change's
 * `weakens` field, which makes it critical (`src/pipeline/severity.ts`).
 *
 * @module
 */
import type { SshdDirective } from "./sshd_config.ts";

/**
 * sshd's own values when a keyword is not set (OpenSSH 9.2 as Debian
 * builds it; `sshd_differential_test.ts` compares them with `sshd -T` on
 * an empty file).
 */
export const SSHD_DEFAULTS: Readonly<Record<string, string>> = {
  permitrootlogin: "prohibit-password",
  passwordauthentication: "yes",
  permitemptypasswords: "no",
  kbdinteractiveauthentication: "yes",
  hostbasedauthentication: "no",
  ignorerhosts: "yes",
  strictmodes: "yes",
  permituserenvironment: "no",
  gatewayports: "no",
  permittunnel: "no",
  loglevel: "info",
  authorizedkeyscommand: "none",
  authorizedprincipalsfile: "none",
  authorizedprincipalscommand: "none",
  trustedusercakeys: "none",
  authorizedkeysfile: ".ssh/authorized_keys .ssh/authorized_keys2",
};

/** PermitRootLogin's values, from the least to the most a root login may do. */
const ROOT_LOGIN = ["no", "forced-commands-only", "prohibit-password", "yes"];
const rootLoginRank = (v: string) =>
  ROOT_LOGIN.indexOf(v === "without-password" ? "prohibit-password" : v);

/** Old names sshd still reads for a keyword. */
const ALIASES: Readonly<Record<string, string>> = {
  challengeresponseauthentication: "kbdinteractiveauthentication",
};

/** The keyword sshd means by `keyword`. */
export const canonicalKeyword = (keyword: string) => ALIASES[keyword] ?? keyword;

/**
 * Values of each keyword that open a way in, lower-cased; `*` is any value
 * but the default. (PermitRootLogin goes by its rank instead.)
 */
const WEAK_VALUES: Readonly<Record<string, readonly string[]>> = {
  passwordauthentication: ["yes"],
  permitemptypasswords: ["yes"],
  kbdinteractiveauthentication: ["yes"],
  hostbasedauthentication: ["yes"],
  ignorerhosts: ["no"],
  strictmodes: ["no"],
  permituserenvironment: ["*"],
  gatewayports: ["yes", "clientspecified"],
  permittunnel: ["yes", "point-to-point", "ethernet"],
  loglevel: ["quiet", "silent", "fatal", "error"],
  // Where sshd finds keys and who vouches for them: any new value is a new way in.
  authorizedkeysfile: ["*"],
  authorizedkeyscommand: ["*"],
  authorizedprincipalsfile: ["*"],
  authorizedprincipalscommand: ["*"],
  trustedusercakeys: ["*"],
};

/** Keywords whose line, removed or changed, takes a restriction away whatever its value. */
const RESTRICTIONS = new Set(["denyusers", "denygroups", "forcecommand", "chrootdirectory"]);

/** Keywords that let in only whom their lines name, once there is one such line. */
export const ALLOW_LISTS = new Set(["allowusers", "allowgroups"]);

/** How a directive is named in a label: its keyword and arguments, and its Match block. */
export function directiveText(d: SshdDirective): string {
  const where = d.match === "" ? "" : ` (Match ${d.match})`;
  return `${d.keyword} ${d.args.join(" ")}${where}`;
}

/** Whether `raw` (the arguments) opens more than sshd's default does. */
function isWeak(keyword: string, raw: string): boolean {
  const value = raw.toLowerCase();
  if (keyword === "permitrootlogin") {
    return rootLoginRank(value) > rootLoginRank(SSHD_DEFAULTS.permitrootlogin);
  }
  const weak = WEAK_VALUES[keyword];
  if (!weak) return false;
  // A path or command: any but the default (`none` in any case is sshd's "unset").
  if (weak.includes("*")) return raw !== SSHD_DEFAULTS[keyword] && value !== "none";
  return weak.includes(value.split(" ")[0]);
}

/** Whether `raw` closes more than sshd's default does, so that removing it opens a way in. */
function isStrict(keyword: string, raw: string): boolean {
  const fallback = SSHD_DEFAULTS[keyword];
  if (fallback === undefined) return false;
  if (keyword === "permitrootlogin") {
    const rank = rootLoginRank(raw.toLowerCase());
    return rank >= 0 && rank < rootLoginRank(fallback);
  }
  return isWeak(keyword, fallback) && !isWeak(keyword, raw);
}

/**
 * The ways in `d` opens when added, removed or changed to another value.
 * `listed`: whether the file holds another line of `d`'s keyword in its
 * Match block (before the change for an added line, after it for a removed
 * one): an AllowUsers line added to others lets more in, the last one
 * removed lets everyone in. A shadowed line changes nothing.
 */
export function directiveWeakens(
  d: SshdDirective,
  how: "added" | "removed" | "changed",
  listed = false,
): string[] {
  if (d.shadowed !== undefined) return [];
  const keyword = canonicalKeyword(d.keyword);
  if (ALLOW_LISTS.has(keyword)) {
    return (how === "added" && listed) || (how === "removed" && !listed)
      ? [`${directiveText(d)} ${how}`]
      : [];
  }
  if (RESTRICTIONS.has(keyword) && how !== "added") return [`${directiveText(d)} ${how}`];
  const removed = how === "removed";
  const value = d.args.join(" ");
  if (!removed) return isWeak(keyword, value) ? [directiveText(d)] : [];
  // The default comes back, and it opens what this line had closed.
  return isStrict(keyword, value)
    ? [`${directiveText(d)} removed (default: ${SSHD_DEFAULTS[keyword]})`]
    : [];
}

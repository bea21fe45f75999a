/**
 * The password field of shadow, gshadow (and legacy passwd): its state, and
 * a keyed fingerprint instead of the hash. The hash itself never leaves here.
 *
 * States:
 * - `set`: a hash; login with a password works.
 * - `locked`: the hash is prefixed with `!` (passwd -l, usermod -L); the
 *   fingerprint is of the hash after the `!`, so unlocking is told apart
 *   from a new password.
 * - `disabled`: `*`, `!`, `!!` or `!*` alone: no password was ever usable.
 * - `empty`: an empty field: login without a password.
 * - `shadowed`: `x` in passwd or group: the real field is in shadow/gshadow.
 *
 * @module
 */

/** The state of a password field. */
export type PasswordState = "set" | "locked" | "disabled" | "empty" | "shadowed";

/** A password field without its secret. */
export interface PasswordInfo {
  state: PasswordState;
  /** Keyed fingerprint of the hash (for `set` and `locked`). */
  fingerprint?: string;
}

/** Describes `field`, fingerprinting any hash with `fingerprint`. */
export function passwordInfo(
  field: string,
  fingerprint: (s: string) => string,
  shadowMarker = false,
): PasswordInfo {
  if (field === "") return { state: "empty" };
  if (shadowMarker && field === "x") return { state: "shadowed" };
  if (/^(\*|!|!!|!\*|\*LK\*|x)$/.test(field)) return { state: "disabled" };
  if (field.startsWith("!")) {
    const hash = field.replace(/^!+/, "");
    if (hash === "" || hash === "*") return { state: "disabled" };
    return { state: "locked", fingerprint: fingerprint(hash) };
  }
  return { state: "set", fingerprint: fingerprint(field) };
}

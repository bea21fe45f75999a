/**
 * The password field of shadow, gshadow (and legacy passwd): its state, and
 * a keyed fingerprint instead of the hash. The hash itself never leaves this
 * module: it goes into `fingerprint` and nowhere else.
 *
 * States, decided on the field as the login programs read it:
 * - `empty`: an empty field. Login without a password (where PAM allows
 *   `nullok`), so it is the one state worse than `set`.
 * - `set`: anything else that is not one of the forms below: a crypt hash.
 * - `locked`: `!` followed by a hash (`passwd -l`, `usermod -L`; older tools
 *   used `!!` followed by the hash). The hash is kept, login with it is
 *   refused. The fingerprint is of the hash without the `!`s, so unlocking
 *   (same hash again) is told apart from setting a new password.
 * - `disabled`: no usable password and no hash behind it: `!` or `!!` alone
 *   (useradd's "never set", shadow-utils and RHEL), `*` and anything starting
 *   with `*` (`*LK*`, `*NP*`: `*` is never a crypt result), `!` followed by
 *   such a `*` form, and `x` outside passwd/group.
 * - `shadowed`: `x` in passwd or group: the real field is in shadow/gshadow.
 *
 * @module
 */

/** The state of a password field. */
export type PasswordState = "set" | "locked" | "disabled" | "empty" | "shadowed";

/** A password field without its secret. */
export interface PasswordInfo {
  state: PasswordState;
  /** Keyed fingerprint of the hash (only for `set` and `locked`). */
  fingerprint?: string;
}

/**
 * Describes `field`, fingerprinting any hash with `fingerprint`.
 * `shadowMarker`: `x` means "see the shadow file" (passwd and group).
 */
export function passwordInfo(
  field: string,
  fingerprint: (secret: string) => string,
  shadowMarker = false,
): PasswordInfo {
  if (field === "") return { state: "empty" };
  if (field === "x") return { state: shadowMarker ? "shadowed" : "disabled" };
  let bangs = 0;
  while (bangs < field.length && field[bangs] === "!") bangs++;
  const hash = field.slice(bangs);
  if (hash === "" || hash.startsWith("*")) return { state: "disabled" };
  return { state: bangs > 0 ? "locked" : "set", fingerprint: fingerprint(hash) };
}

/** True when the state lets someone log in with (or without) a password. */
export function isUsable(state: PasswordState | undefined): boolean {
  return state === "set" || state === "empty";
}

/**
 * A variable an environment file sets, as bpfink keeps it: a value that may
 * be a credential only as a keyed fingerprint.
 *
 * @module
 */

/** One variable: its name, its value (or the fingerprint of a secret one), its line. */
export interface EnvVariable {
  name: string;
  value: string;
  line: number;
  /** The value is a keyed fingerprint: never shown. */
  secret?: boolean;
}

/** Names whose value may be a credential. */
const SECRET_NAME = /pass|secret|token|key|credential|auth/i;

/** A URL with a password (`http://user:pass@proxy`). */
const URL_PASSWORD = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/;

/** A variable's value as kept: a keyed fingerprint when it may be a credential. */
export function secretValue(
  name: string,
  value: string,
  fingerprint: (secret: string) => string,
): { value: string; secret?: true } {
  return SECRET_NAME.test(name) || URL_PASSWORD.test(value)
    ? { value: fingerprint(value), secret: true }
    : { value };
}

/**
 * The host's accounts, for consumers whose meaning depends on whose a file
 * is (authorized_keys, crontabs): /etc/passwd as the consumer context reads
 * it, read and parsed when a change is read.
 *
 * @module
 */
import type { ConsumerContext } from "./consumer.ts";
import { parsePasswd, type PasswdEntry } from "./users/passwd.ts";

/** The account database bpfink looks names up in. */
export const PASSWD = "/etc/passwd";

/** The entries of passwd text, in file order (no hash is kept: none is needed). */
export function accountsIn(text: string): PasswdEntry[] {
  return parsePasswd(text, () => "").entries;
}

/** The host's passwd entries, in file order; undefined when passwd cannot be read. */
export function hostAccounts(ctx: Pick<ConsumerContext, "readFile">): PasswdEntry[] | undefined {
  const text = ctx.readFile(PASSWD);
  return text === undefined ? undefined : accountsIn(text);
}

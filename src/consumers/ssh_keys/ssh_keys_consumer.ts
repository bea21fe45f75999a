/**
 * The ssh_keys consumer: OpenSSH authorized_keys files (by name:
 * `authorized_keys`, `authorized_keys2`; any other file when configured,
 * such as an `AuthorizedKeysFile /etc/ssh/keys/%u`). The account a file
 * lets in is the one whose home holds it (a uid-0 account first), else the
 * one the file is named after, as passwd says when the change is read.
 *
 * @module
 */
import { type AuthorizedKey, parseAuthorizedKeys } from "./authorized_keys.ts";
import { diffSshKeys, type KeyAccount } from "./ssh_keys_diff.ts";
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { accountsIn, PASSWD } from "../_host_accounts.ts";
import { lastName } from "../../watch/path_names.ts";

/**
 * The account `path` lets in, from passwd's text: the account with the
 * longest home that holds the path (of those, one with uid 0), else the
 * account named like the file.
 */
export function keyAccount(
  path: string,
  passwd: string | undefined,
): (KeyAccount & { home?: string }) | undefined {
  if (passwd === undefined) return undefined;
  const accounts = accountsIn(passwd);
  let best: { name: string; uid: number; home: string } | undefined;
  for (const a of accounts) {
    const home = a.home.replace(/\/+$/, "");
    if (home === "" || !path.startsWith(home + "/")) continue;
    if (
      !best || home.length > best.home.length ||
      (home.length === best.home.length && a.uid === 0 && best.uid !== 0)
    ) best = { name: a.name, uid: a.uid, home };
  }
  if (best) return best;
  const named = accounts.find((a) => a.name === lastName(path));
  return named ? { name: named.name, uid: named.uid } : undefined;
}

const accountOnly = (a: KeyAccount | undefined) => a && { name: a.name, uid: a.uid };

/** authorized_keys. */
export const sshKeysConsumer: Consumer = {
  name: "ssh_keys",
  /**
   * A key file a user owns is read by meaning where sshd reads it for that
   * user: `authorized_keys` or `authorized_keys2` in the `.ssh` of the
   * user's home. The same name anywhere else in a directory the user can
   * write is a plain file: sshd never reads it, and a thousand of them
   * must not become a flood of keys.
   */
  readsByName(path: string, uid: number, ctx: ConsumerContext): boolean {
    const a = keyAccount(path, ctx.readFile(PASSWD));
    return a?.uid === uid && a.home !== undefined &&
      ["authorized_keys", "authorized_keys2"].some((n) => path === `${a.home}/.ssh/${n}`);
  },
  snapshot(_path: string, text: string): AuthorizedKey[] {
    return parseAuthorizedKeys(text).entries;
  },
  diff(path: string, before: unknown, after: unknown, ctx: ConsumerContext) {
    return diffSshKeys(
      (before as AuthorizedKey[] | undefined) ?? [],
      (after as AuthorizedKey[] | undefined) ?? [],
      path,
      accountOnly(keyAccount(path, ctx.readFile(PASSWD))),
    );
  },
};

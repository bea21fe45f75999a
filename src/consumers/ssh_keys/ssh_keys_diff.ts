/**
 * What changed in an authorized_keys file: keys added and removed, and a
 * key's options changed. A key line is its fingerprint with its options:
 * sshd tries every line that holds the offered key, so a second line for a
 * key already there, without the first line's `from=` or `command=`, is a
 * new way in and is reported as one.
 *
 * @module
 */
import { type AuthorizedKey, optionNames } from "./authorized_keys.ts";
import { multisetDiff, pairUp } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import type { SeverityLevel } from "../../pipeline/severity.ts";

/** Options that narrow what a key may do; taking one away widens it. */
const RESTRICTING = new Set([
  "restrict",
  "command",
  "from",
  "principals",
  "expiry-time",
  "permitopen",
  "permitlisten",
  "verify-required",
  "no-agent-forwarding",
  "no-port-forwarding",
  "no-pty",
  "no-user-rc",
  "no-x11-forwarding",
]);
/** Options that widen what a key may do when added. */
const WIDENING = new Set([
  "cert-authority",
  "environment",
  "tunnel",
  "agent-forwarding",
  "port-forwarding",
  "pty",
  "user-rc",
  "x11-forwarding",
  "no-touch-required",
]);

/** The account a key file lets in, when known. */
export interface KeyAccount {
  name: string;
  uid: number;
}

const key = (k: AuthorizedKey) => `${k.fingerprint}\0${k.options}`;

/** How a key is named in a message: type, fingerprint, and its comment when it has one. */
function described(k: AuthorizedKey): string {
  const comment = k.comment === "" ? "" : ` "${shown(k.comment)}"`;
  const options = k.options === "" ? "" : ` with options ${shown(k.options)}`;
  return `${shown(k.type)} ${k.fingerprint}${comment}${options}`;
}

/** What `to`'s options allow that `from`'s did not: restrictions taken away, widenings added. */
export function optionsWiden(from: string, to: string): string[] {
  const before = new Set(optionNames(from));
  const after = new Set(optionNames(to));
  return [
    ...[...before].filter((o) => RESTRICTING.has(o) && !after.has(o)).map((o) => `${o} removed`),
    ...[...after].filter((o) => WIDENING.has(o) && !before.has(o)).map((o) => `${o} added`),
  ];
}

/**
 * The changes between two parses of the key file `file`, whose account is
 * `account` when known. A way in (a key added, a key's options widened) is
 * critical for an account with uid 0 and high for others; a key removed or
 * narrowed is medium.
 */
export function diffSshKeys(
  before: AuthorizedKey[],
  after: AuthorizedKey[],
  file: string,
  account?: KeyAccount,
): SemanticChange[] {
  const { added, removed } = multisetDiff(before, after, key);
  const wayIn: SeverityLevel = account?.uid === 0 ? "critical" : "high";
  const whose = account ? ` for ${shown(account.name)}` : "";
  const fields = account ? { user: { name: account.name, id: String(account.uid) } } : undefined;
  const out = new ChangeList("ssh_keys");
  // A removed and an added line of the same key: its options changed.
  const pairs = pairUp(added, removed, (k) => k.fingerprint);
  const paired = new Set(pairs.values());
  const stillThere = new Set(before.map((k) => k.fingerprint));
  for (const a of added) {
    const old = pairs.get(a);
    if (old) {
      const widens = optionsWiden(old.options, a.options);
      out.push({
        action: "ssh_key_options_changed",
        subject: a.fingerprint,
        message: `ssh key options changed${whose}: ${shown(a.type)} ${a.fingerprint}: ` +
          `${shown(old.options || "none")} → ${shown(a.options || "none")}` +
          (widens.length > 0 ? ` (${widens.join(", ")})` : ""),
        changes: [
          { field: "options", from: old.options, to: a.options },
          ...(widens.length > 0 ? [{ field: "widens", to: widens }] : []),
        ],
        source: { file, line: a.line },
        fields,
        severity: widens.length > 0 ? wayIn : "medium",
      });
      continue;
    }
    const again = stillThere.has(a.fingerprint) ? " (another line for a key already there)" : "";
    out.push({
      action: "ssh_key_added",
      subject: a.fingerprint,
      message: `ssh key added${whose}: ${described(a)}${again}`,
      changes: [{ field: "key", to: `${a.type} ${a.fingerprint}` }],
      source: { file, line: a.line },
      fields,
      severity: wayIn,
    });
  }
  for (const r of removed.filter((r) => !paired.has(r))) {
    out.push({
      action: "ssh_key_removed",
      subject: r.fingerprint,
      message: `ssh key removed${whose}: ${described(r)}`,
      changes: [{ field: "key", from: `${r.type} ${r.fingerprint}` }],
      source: { file, line: r.line },
      fields,
      severity: "medium",
    });
  }
  return out.done();
}

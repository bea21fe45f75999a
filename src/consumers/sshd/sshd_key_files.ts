/**
 * The files sshd_config names as deciding who may log in: the keys of the
 * certificate authorities it trusts (`TrustedUserCAKeys`: a CA key added
 * there lets in anyone holding a certificate it signs, root's name in it
 * too), the authorized_keys files it reads (`AuthorizedKeysFile`, where a
 * path is absolute, as `/etc/ssh/keys/%u`), the principals each account
 * accepts (`AuthorizedPrincipalsFile`) and the keys it refuses
 * (`RevokedKeys`). A watched sshd_config makes them watched too: by meaning
 * for keys, as text for the others. A path relative to a home (or with
 * `%h`) is each user's own and is left to the watches the config has (of
 * each home's `.ssh/authorized_keys`).
 *
 * @module
 */
import type { ConsumerName } from "../../config/config_types.ts";
import type { IncludedPath } from "../consumer.ts";
import type { SshdDirective } from "./sshd_config.ts";

/** The keywords that name such files, and how their files are read. */
const KEY_FILES: Readonly<Record<string, ConsumerName>> = {
  trustedusercakeys: "ssh_keys",
  authorizedkeysfile: "ssh_keys",
  authorizedprincipalsfile: "generic",
  revokedkeys: "generic",
};

/** A CA sshd trusts vouches for any account, root's too: a change there is critical. */
const CRITICAL = new Set(["trustedusercakeys"]);

/** A token sshd expands per login (`%u`, `%U`, `%h`); `%%` is a percent sign. */
const TOKEN = /%[uUh]/;

/**
 * What to watch for the file pattern `arg`: the file itself, or, where a
 * component holds a token, the directory above it with the rest as a glob
 * (`/etc/ssh/keys/%u` → `/etc/ssh/keys`, `*`). Undefined for `none`, a
 * relative path, or one with a token right under `/`.
 */
export function keyFileWatch(arg: string, consumer: ConsumerName): IncludedPath | undefined {
  if (!arg.startsWith("/")) return undefined;
  const parts = arg.split("/").filter((p) => p !== "");
  const first = parts.findIndex((p) => TOKEN.test(p));
  const literal = (p: string) => p.replaceAll("%%", "%");
  if (first < 0) return { path: "/" + parts.map(literal).join("/"), dir: false, consumer };
  if (first === 0) return undefined;
  const glob = parts.slice(first).map((p) => literal(p.replace(/%[uUh]/g, "*"))).join("/");
  return {
    path: "/" + parts.slice(0, first).map(literal).join("/"),
    dir: true,
    include: [glob],
    consumer,
  };
}

/** The files `directives` name as deciding who may log in (see the module's doc). */
export function keyFilesOf(directives: readonly SshdDirective[]): IncludedPath[] {
  const out = new Map<string, IncludedPath>();
  for (const d of directives) {
    const consumer = KEY_FILES[d.keyword];
    // A shadowed line has no effect: sshd keeps the first value it reads.
    if (!consumer || d.shadowed !== undefined) continue;
    for (const arg of d.args) {
      if (arg.toLowerCase() === "none") continue;
      const w = keyFileWatch(arg, consumer);
      if (w && CRITICAL.has(d.keyword)) w.severity = "critical";
      if (w && !out.has(w.path)) out.set(w.path, w);
    }
  }
  return [...out.values()];
}

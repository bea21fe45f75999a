/**
 * The sshd consumer: sshd_config and the files it includes (Debian's
 * `Include /etc/ssh/sshd_config.d/*.conf`). Each file is parsed on its own;
 * the files and directories it includes are watched too, with this
 * consumer, and the key files it names, with theirs.
 *
 * @module
 */
import { parseSshdConfig, type SshdDirective, type SshdInclude } from "./sshd_config.ts";
import { diffSshd } from "./sshd_diff.ts";
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { reportErrors } from "../report_errors.ts";
import { keyFilesOf } from "./sshd_key_files.ts";

interface Snapshot {
  directives: SshdDirective[];
  includes: SshdInclude[];
}

/** sshd_config files. */
export const sshdConsumer: Consumer = {
  name: "sshd",
  snapshot(path: string, text: string, ctx: ConsumerContext): Snapshot {
    const r = parseSshdConfig(text);
    reportErrors(path, r.errors, ctx);
    return { directives: r.entries, includes: r.includes };
  },
  diff(path: string, before: unknown, after: unknown) {
    return diffSshd(
      (before as Snapshot | undefined)?.directives ?? [],
      (after as Snapshot | undefined)?.directives ?? [],
      path,
    );
  },
  // What it includes, and the files it names as deciding who may log in (sshd_key_files.ts).
  watchAlso(snapshot: unknown) {
    const s = snapshot as Snapshot | undefined;
    return [...s?.includes ?? [], ...keyFilesOf(s?.directives ?? [])];
  },
};

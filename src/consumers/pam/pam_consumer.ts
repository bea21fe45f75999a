/**
 * The pam consumer: the service files of /etc/pam.d. Each file's rules are
 * kept; a diff also works out, with the files it includes as they are now,
 * whether its auth stack lets in a caller who knows no password, before
 * and after the change (`pam_stack.ts`).
 *
 * @module
 */
import { type PamLine, parsePamConf } from "./pam_conf.ts";
import { authPassesWithoutPassword } from "./pam_stack.ts";
import { diffPam } from "./pam_diff.ts";
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { reportErrors } from "../report_errors.ts";
import { accessFilesOf } from "./pam_access_args.ts";

/** PAM service files. */
export const pamConsumer: Consumer = {
  name: "pam",
  // The bytes as they are: a line's length decides where libpam cuts it.
  readsBytesAsIs: true,
  snapshot(path: string, text: string, ctx: ConsumerContext, bytes?: Uint8Array): PamLine[] {
    // libpam reads bytes: a line is cut at 1023 of them, and ends at a NUL.
    const r = parsePamConf(bytes ?? text);
    reportErrors(path, r.errors, ctx);
    return r.entries;
  },
  diff(path: string, before: unknown, after: unknown, ctx: ConsumerContext) {
    const b = (before as PamLine[] | undefined) ?? [];
    const a = (after as PamLine[] | undefined) ?? [];
    const read = (p: string) => ctx.readFileBytes ? ctx.readFileBytes(p) : ctx.readFile(p);
    const auth = {
      before: before !== undefined && authPassesWithoutPassword(b, read),
      after: after !== undefined && authPassesWithoutPassword(a, read),
    };
    return diffPam(b, a, path, auth);
  },
  // pam_access reads its rules from an `accessfile=` instead of access.conf: watched, by meaning.
  watchAlso(snapshot: unknown) {
    const lines = Array.isArray(snapshot) ? snapshot as PamLine[] : [];
    return accessFilesOf(lines).map((path) => ({ path, dir: false, consumer: "access" as const }));
  },
};

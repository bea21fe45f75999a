/**
 * The pam consumer: the service files of /etc/pam.d. Each file's rules are
 * kept; a diff also works out, with the files it includes as they are now,
 * whether its auth stack lets in a caller who knows no password, before
 * and after the change (`pam_stack.ts`), and so for each other service of
 * its directory that includes it (`pam_services.ts`); a service file
 * removed (or not there before) counts as `other`, which libpam reads in
 * its place.
 *
 * @module
 */
import { includedFilesOf, type PamLine, parsePamConf } from "./pam_conf.ts";
import { authPassesWithoutPassword, type PamReader } from "./pam_stack.ts";
import { diffPam } from "./pam_diff.ts";
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { reportErrors } from "../report_errors.ts";
import { accessFilesOf } from "./pam_access_args.ts";
import { namedFilesOf } from "./pam_named_files.ts";
import { servicesChanged } from "./pam_services.ts";

/**
 * Whether /etc/pam.d/other, which libpam reads for a service with no file
 * of its own, lets in a caller who knows no password: not when it is missing
 * (libpam then sets nothing up), and, the cautious side, when it is too large
 * to read.
 */
function otherPasses(read: PamReader): boolean {
  const other = read("/etc/pam.d/other");
  if (other === undefined) return false;
  if (other === null) return true;
  return authPassesWithoutPassword(parsePamConf(other).entries, read);
}

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
    // A service without a file of its own is set up from /etc/pam.d/other, as libpam does.
    const passes = (lines: PamLine[] | undefined) =>
      lines !== undefined
        ? authPassesWithoutPassword(lines, read)
        : !/(^|\/)other$/.test(path) && otherPasses(read);
    const auth = {
      before: passes(before as PamLine[] | undefined),
      after: passes(after as PamLine[] | undefined),
      // The services that read it through an include decide with it as it was and as it is.
      services: servicesChanged(
        path,
        before as PamLine[] | undefined,
        after as PamLine[] | undefined,
        (dir) => ctx.readDir(dir),
        read,
      ),
    };
    return diffPam(b, a, path, auth);
  },
  // The files it includes are read as its own lines are: watched, as PAM files. pam_access
  // reads its rules from an `accessfile=` instead of access.conf: watched, by meaning. The
  // modules, programs and lists its rules name: watched as files (pam_named_files.ts).
  watchAlso(snapshot: unknown) {
    const lines = Array.isArray(snapshot) ? snapshot as PamLine[] : [];
    return [
      ...includedFilesOf(lines).map((path) => ({ path, dir: false })),
      ...accessFilesOf(lines).map((path) => ({ path, dir: false, consumer: "access" as const })),
      ...namedFilesOf(lines),
    ];
  },
};

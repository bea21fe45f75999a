/**
 * The access consumer: pam_access's access.conf.
 *
 * @module
 */
import { type AccessRule, parseAccessConf } from "./access_conf.ts";
import { diffAccess } from "./access_diff.ts";
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { reportErrors } from "../report_errors.ts";

/** access.conf. */
export const accessConsumer: Consumer = {
  name: "access",
  // The bytes as they are: pam_access reads a line in chunks of 8191 bytes.
  readsBytesAsIs: true,
  snapshot(path: string, text: string, ctx: ConsumerContext, bytes?: Uint8Array): AccessRule[] {
    // pam_access counts bytes: invalid UTF-8 decodes to text of another length.
    const r = parseAccessConf(bytes ?? text);
    reportErrors(path, r.errors, ctx);
    return r.entries;
  },
  diff(path: string, before: unknown, after: unknown) {
    return diffAccess(
      (before as AccessRule[] | undefined) ?? [],
      (after as AccessRule[] | undefined) ?? [],
      path,
    );
  },
};

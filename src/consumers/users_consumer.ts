/**
 * The users consumer: passwd and shadow. Hashes become keyed fingerprints at
 * parse time; events say "user alice added with uid 0", "password changed
 * for root".
 *
 * @module
 */
import { basename } from "node:path";
import { parsePasswd, type PasswdEntry } from "../parsers/passwd.ts";
import { parseShadow, type ShadowEntry } from "../parsers/shadow.ts";
import { diffPasswd, diffShadow } from "../semantics/users.ts";
import type { Consumer, ConsumerContext } from "./consumer.ts";
import { reportErrors } from "./report_errors.ts";

type Snapshot = { kind: "passwd"; entries: PasswdEntry[] } | {
  kind: "shadow";
  entries: ShadowEntry[];
};

const isShadow = (path: string) => /^shadow(-|$)/.test(basename(path));

/** passwd and shadow. */
export const usersConsumer: Consumer = {
  name: "users",
  snapshot(path: string, text: string, ctx: ConsumerContext): Snapshot {
    if (isShadow(path)) {
      const r = parseShadow(text, ctx.fingerprint);
      reportErrors(path, r.errors, ctx);
      return { kind: "shadow", entries: r.entries };
    }
    const r = parsePasswd(text, ctx.fingerprint);
    reportErrors(path, r.errors, ctx);
    return { kind: "passwd", entries: r.entries };
  },
  diff(path: string, before: unknown, after: unknown) {
    const a = before as Snapshot | undefined;
    const b = after as Snapshot | undefined;
    if (isShadow(path)) {
      return diffShadow(
        a?.kind === "shadow" ? a.entries : [],
        b?.kind === "shadow" ? b.entries : [],
        path,
      );
    }
    return diffPasswd(
      a?.kind === "passwd" ? a.entries : [],
      b?.kind === "passwd" ? b.entries : [],
      path,
    );
  },
};

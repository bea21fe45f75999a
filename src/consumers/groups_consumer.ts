/**
 * The groups consumer: group and gshadow.
 *
 * @module
 */
import { basename } from "node:path";
import { type GroupEntry, parseGroup } from "../parsers/group.ts";
import { type GshadowEntry, parseGshadow } from "../parsers/gshadow.ts";
import { diffGroup, diffGshadow } from "../semantics/groups.ts";
import type { Consumer, ConsumerContext } from "./consumer.ts";
import { reportErrors } from "./report_errors.ts";

type Snapshot = { kind: "group"; entries: GroupEntry[] } | {
  kind: "gshadow";
  entries: GshadowEntry[];
};

const isGshadow = (path: string) => /^gshadow(-|$)/.test(basename(path));

/** group and gshadow. */
export const groupsConsumer: Consumer = {
  name: "groups",
  snapshot(path: string, text: string, ctx: ConsumerContext): Snapshot {
    if (isGshadow(path)) {
      const r = parseGshadow(text, ctx.fingerprint);
      reportErrors(path, r.errors, ctx);
      return { kind: "gshadow", entries: r.entries };
    }
    const r = parseGroup(text);
    reportErrors(path, r.errors, ctx);
    return { kind: "group", entries: r.entries };
  },
  diff(path: string, before: unknown, after: unknown) {
    const a = before as Snapshot | undefined;
    const b = after as Snapshot | undefined;
    if (isGshadow(path)) {
      return diffGshadow(
        a?.kind === "gshadow" ? a.entries : [],
        b?.kind === "gshadow" ? b.entries : [],
        path,
      );
    }
    return diffGroup(
      a?.kind === "group" ? a.entries : [],
      b?.kind === "group" ? b.entries : [],
      path,
    );
  },
};

/**
 * The sudoers consumer: /etc/sudoers and the files it includes. Each file is
 * parsed on its own; the files and directories it includes are watched too.
 *
 * @module
 */
import { parseSudoers, type SudoersEntry } from "../parsers/sudoers.ts";
import { diffSudoers } from "../semantics/sudoers.ts";
import type { Consumer, ConsumerContext } from "./consumer.ts";
import { reportErrors } from "./report_errors.ts";

interface Snapshot {
  entries: SudoersEntry[];
  includes: { path: string; dir: boolean }[];
}

/** sudoers files. */
export const sudoersConsumer: Consumer = {
  name: "sudoers",
  snapshot(path: string, text: string, ctx: ConsumerContext): Snapshot {
    const r = parseSudoers(text, path);
    reportErrors(path, r.errors, ctx);
    return { entries: r.entries, includes: r.includes };
  },
  diff(_path: string, before: unknown, after: unknown) {
    return diffSudoers(
      (before as Snapshot | undefined)?.entries ?? [],
      (after as Snapshot | undefined)?.entries ?? [],
    );
  },
  watchAlso(snapshot: unknown) {
    return (snapshot as Snapshot | undefined)?.includes ?? [];
  },
};

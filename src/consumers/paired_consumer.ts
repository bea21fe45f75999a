/**
 * A consumer for a pair of databases read the same way (passwd and shadow,
 * group and gshadow): the file name picks the parser and the differ, and the
 * snapshot remembers which kind it holds.
 *
 * @module
 */
import { basename } from "node:path";
import type { SemanticEvent } from "./consumer.ts";
import type { Consumer, ConsumerContext } from "./consumer.ts";
import type { ParseResult } from "./parse_result.ts";
import { reportErrors } from "./report_errors.ts";

/** One of the two files. */
export interface PairedKind<T> {
  kind: string;
  parse(content: string | Uint8Array, fingerprint: (s: string) => string): ParseResult<T>;
  diff(before: T[], after: T[], file: string): SemanticEvent[];
}

type Snapshot = { kind: string; entries: unknown[] };

/**
 * A consumer over `first` and `second`; a file whose name is `second.kind`
 * is read as the second, any other as the first. The backups shadow-utils
 * keep (`passwd-`, `shadow-`, ...) hold the previous content: they are
 * watched as plain files (the raw event reports them) and never give a
 * semantic event, nor is their content kept (it may hold hashes).
 */
export function pairedConsumer<A, B>(
  name: string,
  first: PairedKind<A>,
  second: PairedKind<B>,
): Consumer {
  const pick = (path: string): PairedKind<unknown> =>
    (basename(path) === second.kind ? second : first) as PairedKind<unknown>;
  const backups = new Set([`${first.kind}-`, `${second.kind}-`]);
  const isBackup = (path: string) => backups.has(basename(path));
  return {
    name,
    readsPasswords: true,
    snapshot(
      path: string,
      text: string,
      ctx: ConsumerContext,
      bytes?: Uint8Array,
    ): Snapshot | undefined {
      if (isBackup(path)) return undefined;
      const k = pick(path);
      // The C library reads these files as bytes: the parsers do too.
      const r = k.parse(bytes ?? text, ctx.fingerprint);
      reportErrors(path, r.errors, ctx);
      return { kind: k.kind, entries: r.entries };
    },
    diff(path: string, before: unknown, after: unknown) {
      if (isBackup(path)) return [];
      const k = pick(path);
      const entries = (
        s: unknown,
      ) => ((s as Snapshot | undefined)?.kind === k.kind ? (s as Snapshot).entries : []);
      return k.diff(entries(before), entries(after), path);
    },
  };
}

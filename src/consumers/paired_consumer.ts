/**
 * A consumer for a pair of databases read the same way (passwd and shadow,
 * group and gshadow): the file name picks the parser and the differ, and the
 * snapshot remembers which kind it holds.
 *
 * The account databases are one system: a user holds the primary gid of
 * passwd and the gids of group, and gshadow's lines are group's groups. A
 * differ reads the other databases it needs through {@link Peers}: the
 * baseline of the file of that name in the same directory (`/etc/group`
 * beside `/etc/passwd`), whichever consumer pair keeps it. The pipeline
 * handles one change at a time and each diff reads the other files as they
 * were last committed, so each file's diff reports what its change did to
 * the whole: a gid gained through passwd is told by passwd's diff, through
 * group by group's, and a member `gpasswd -a` writes to group and then
 * gshadow is told by group's alone (gshadow's then gives nothing new).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { SemanticEvent } from "./consumer.ts";
import type { Consumer, ConsumerContext } from "./consumer.ts";
import type { ParseResult } from "./parse_result.ts";
import { reportErrors } from "./report_errors.ts";

/** Another account database as it stands: its entries and its path. */
export interface Peer<T> {
  entries: T[];
  file: string;
}

/**
 * The entries of the database `kind` (`passwd`, `group`, ...) beside the
 * changed file, as last committed; undefined when it is not watched by
 * meaning. The caller names the entry type the database of that kind holds.
 */
export type Peers = <T>(kind: string) => Peer<T> | undefined;

/** One of the two files. */
export interface PairedKind<T> {
  kind: string;
  parse(content: string | Uint8Array, fingerprint: (s: string) => string): ParseResult<T>;
  diff(before: T[], after: T[], file: string, peers: Peers): SemanticEvent[];
}

type Snapshot = { kind: string; entries: unknown[] };

/** What {@link pairedConsumer} keeps of `snapshot` when it holds a database of `kind`. */
function entriesOf(snapshot: unknown, kind: string): unknown[] | undefined {
  const s = snapshot as Partial<Snapshot> | undefined;
  return s?.kind === kind && Array.isArray(s.entries) ? s.entries : undefined;
}

/** The {@link Peers} of the file at `path`: its siblings' baselines. */
export function peersOf(path: string, ctx: ConsumerContext): Peers {
  return <T>(kind: string) => {
    const file = join(dirname(path), kind);
    const entries = file === path ? undefined : entriesOf(ctx.baseline?.(file), kind);
    return entries ? { entries: entries as T[], file } : undefined;
  };
}

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
    diff(path: string, before: unknown, after: unknown, ctx: ConsumerContext) {
      if (isBackup(path)) return [];
      const k = pick(path);
      const entries = (s: unknown) => entriesOf(s, k.kind) ?? [];
      return k.diff(entries(before), entries(after), path, peersOf(path, ctx));
    },
  };
}

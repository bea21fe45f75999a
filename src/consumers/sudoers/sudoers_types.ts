/**
 * The entries a sudoers parse gives, and the parser's options.
 *
 * @module
 */
import type { ParseResult } from "../parse_result.ts";

/** What every sudoers entry has. */
export interface SudoersEntryBase {
  /** Spacing-normalised text, e.g. `bob ALL=(ALL) NOPASSWD: ALL`: the identity used for diffs. */
  canonical: string;
  /** Rules: the users (`alice, %wheel`); aliases: the alias name; Defaults: the setting name; includes: the path. */
  subject: string;
  /** The file the entry is in (an included file for included entries). */
  file: string;
  /** 1-based line number of the entry's first physical line. */
  line: number;
}

/** A Runas specification: `(users:groups)`. */
export interface SudoersRunas {
  users: string[];
  /** Present when a `:` was written, even if empty. */
  groups?: string[];
}

/** One command of a user specification, with what applies to it as written. */
export interface SudoersCommand {
  runas?: SudoersRunas;
  /** Option specs, e.g. `TIMEOUT=10`, `CWD=/tmp`. */
  options: string[];
  /** Tags, e.g. `NOPASSWD`. */
  tags: string[];
  /** The command: `ALL`, `/bin/ls -l`, `!/bin/sh`, `sha256:… /bin/ls`, an alias. */
  command: string;
}

/** The hosts and commands of a user specification (one per `:`-separated part). */
export interface SudoersHostSpec {
  hosts: string[];
  commands: SudoersCommand[];
}

/** A user specification: who may run what, where, as whom. */
export interface SudoersRule extends SudoersEntryBase {
  kind: "rule";
  users: string[];
  specs: SudoersHostSpec[];
}

/** What a `Defaults` line applies to. */
export type SudoersDefaultsScope = "global" | "user" | "host" | "runas" | "command";

/** One `Defaults` setting with its qualifiers. */
export interface SudoersDefault extends SudoersEntryBase {
  kind: "default";
  scope: SudoersDefaultsScope;
  /** The users, hosts, runas users or commands after `:`, `@`, `>` or `!`. */
  qualifiers: string[];
  /** The setting, e.g. `!requiretty`, `env_keep+="LD_PRELOAD"`. */
  setting: string;
}

/** The alias kinds (`Cmd_Alias` is read as `Cmnd_Alias`). */
export type SudoersAliasType = "User_Alias" | "Runas_Alias" | "Host_Alias" | "Cmnd_Alias";

/** One alias definition. */
export interface SudoersAlias extends SudoersEntryBase {
  kind: "alias";
  aliasType: SudoersAliasType;
  /** The members, normalised and joined with `, `. */
  value: string;
  members: string[];
}

/** An include directive (resolved path). */
export interface SudoersInclude extends SudoersEntryBase {
  kind: "include";
  dir: boolean;
  path: string;
}

/**
 * A line bpfink cannot interpret (sudo may still accept it: sudo's grammar
 * is larger than this parser's, and sudo recovers from errors line by
 * line). Kept as an entry, so that adding one is reported, never skipped
 * quietly. `canonical` is the line with its spacing normalised.
 */
export interface SudoersUnparsed extends SudoersEntryBase {
  kind: "unparsed";
  /** Why the line was not interpreted. */
  reason: string;
}

/** One sudoers entry. */
export type SudoersEntry =
  | SudoersRule
  | SudoersDefault
  | SudoersAlias
  | SudoersInclude
  | SudoersUnparsed;

/** What a sudoers entry is. */
export type SudoersKind = SudoersEntry["kind"];

/** Read access for includes; may return undefined or [] for anything unreadable. */
export interface SudoersReader {
  readFile(path: string): string | undefined;
  readDir(path: string): string[];
}

/** The parse result plus every include found (resolved paths, each once). */
export interface SudoersResult extends ParseResult<SudoersEntry> {
  includes: { path: string; dir: boolean }[];
}

/** Options for parsing. */
export interface SudoersOptions {
  /** Follow includes with this reader; without one, includes are only listed. */
  reader?: SudoersReader;
  /** Include nesting at most (default 8, at most 128 like sudo). */
  maxDepth?: number;
  /** Files parsed at most, the first included (default 128). */
  maxFiles?: number;
  /** Characters parsed at most over all files, the first included (default MAX_TEXT_CHARS: a file the pipeline hands over whole is parsed whole; 8 MiB of dense rules took 3 s). */
  maxTotalChars?: number;
  /** Files listed at most per included directory (default 1024). */
  maxDirEntries?: number;
  /** The short host name, for `%h` in include paths. */
  hostname?: string;
}

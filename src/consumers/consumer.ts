/**
 * What a consumer is: it turns a watched file's content into a snapshot (its
 * meaning, with secrets fingerprinted) and says what changed between two
 * snapshots. Consumers never know how a change was caught.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { SeverityLevel } from "../pipeline/severity.ts";
import type { ConsumerName } from "../config/config_types.ts";

/** One semantic change, e.g. a user added. */
export interface SemanticEvent {
  /** `event.action`, e.g. `user_added`. */
  action: string;
  /** For people, e.g. "user alice added with uid 0". Never contains a secret. */
  message: string;
  /** ECS fields this change fills, e.g. `{ user: { name: "alice", id: "0" } }`. */
  fields?: Partial<Pick<ChangeEvent, "user" | "group">>;
  /** What changed, from → to (never a secret). */
  changes?: { field: string; from?: unknown; to?: unknown }[];
  /** Where in the file, when known. */
  source?: { file: string; line?: number };
  /**
   * The level the consumer gives it from what only the file says (e.g. a
   * gid the group file makes privileged); the default level when absent. A
   * watch's `severity` may still raise it.
   */
  severity?: SeverityLevel;
}

/** What a consumer may use. */
export interface ConsumerContext {
  /** Keyed fingerprint of a secret (HMAC-SHA256 with the host key). */
  fingerprint(secret: string): string;
  /** Reads a file an include points at (sudoers). Undefined when unreadable. */
  readFile(path: string): string | undefined;
  /**
   * The bytes of a file an include points at, for a consumer that reads
   * them as a C program does (PAM): a directory reads as no bytes, as
   * `fopen` and `fgets` give. Undefined when missing or unreadable; null
   * for a file that is there but larger than bpfink parses (the program
   * reads it whole: what it holds is not known).
   */
  readFileBytes?(path: string): Uint8Array | undefined | null;
  /** Lists a directory an include points at. */
  readDir(path: string): string[];
  /** Report a problem in the file (malformed line) without stopping. */
  warn(message: string): void;
  /**
   * The snapshot bpfink keeps as the meaning of another watched file (its
   * baseline), for a file whose meaning depends on that one: a user holds
   * the primary gid passwd gives and the gids group gives, so each is
   * judged with the other as it stands. Undefined when that file is not
   * watched, or outside a diff.
   */
  baseline?(path: string): unknown;
}

/** A file or directory a watched file pulls in. */
export interface IncludedPath {
  path: string;
  dir: boolean;
  /** For a directory, the globs of the names it pulls in (default: every file). */
  include?: string[];
  /**
   * The consumer that reads it, where that is not the including file's (a
   * PAM rule's `accessfile=` holds access.conf rules).
   */
  consumer?: ConsumerName;
  /** The least severity of its events, where any change to it decides who gets in. */
  severity?: SeverityLevel;
  /**
   * Watched by hash only (no content kept, no line diff): a file another
   * user's config names, who could otherwise name root's private key and
   * have its lines quoted.
   */
  secret?: boolean;
}

/** A consumer of one kind of file. */
export interface Consumer {
  readonly name: string;
  /**
   * True when the files it reads have password fields that it keeps as
   * keyed fingerprints itself (passwd, shadow, group, gshadow). Any other
   * consumer is given its text with password hashes redacted
   * (password_hashes.ts): a sudoers include or an access.conf may hold a
   * copy of shadow.
   */
  readonly readsPasswords?: boolean;
  /**
   * True when the program that reads these files cuts lines by counting
   * bytes (libpam's 1024-byte buffer, pam_access's 8191-byte chunks): the
   * consumer is given the bytes as they are, for a hash redacted first
   * would move where a line is cut and what the rest of it reads as. The
   * pipeline redacts password hashes from its snapshot and its events
   * instead.
   */
  readonly readsBytesAsIs?: boolean;
  /**
   * What the program reading these files does with one that is not text
   * (it holds NUL bytes), as the not-text event says it
   * (bounded_changes.ts); by default, that it reads it line by line.
   */
  readonly notText?: string;
  /**
   * The file's meaning, JSON-serialisable, no secret in clear. `text` is
   * the content decoded as UTF-8; `bytes`, when given, the content itself,
   * for a consumer that reads bytes the way a C program does.
   */
  snapshot(path: string, text: string, ctx: ConsumerContext, bytes?: Uint8Array): unknown;
  /** What changed between two snapshots; `undefined` when the file did not exist. */
  diff(path: string, before: unknown, after: unknown, ctx: ConsumerContext): SemanticEvent[];
  /**
   * Chosen by the file's name, whether it reads `path` owned by the
   * non-root `uid` (undefined: only root's files are read by meaning, as a
   * `passwd` a user makes is not an account database). sshd reads a user's
   * own `~/.ssh/authorized_keys`.
   */
  readsByName?(path: string, uid: number, ctx: ConsumerContext): boolean;
  /**
   * Other files and directories this file, at `path`, pulls in (sudoers
   * includes, pam_access files): watched too. `ctx` reads the files beside
   * it that decide how (a unit's drop-ins).
   */
  watchAlso?(snapshot: unknown, path?: string, ctx?: ConsumerContext): IncludedPath[];
}

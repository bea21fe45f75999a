/**
 * From a file change to the events that report it: the consumer parses the
 * new content, diffs it against the baseline's snapshot, and the baseline
 * update and the events are committed together before they are delivered.
 *
 * @module
 */
import { type ChangeEvent, redelivered } from "./change_event.ts";
import { actorEcs, otherWritersEcs, pathParts, severityOf, withEnvelope } from "./ecs_event.ts";
import { SEVERITY_LEVELS, type SeverityLevel } from "./severity.ts";
import type { WatchPolicy } from "./watch_policy.ts";
import { displayPath } from "../watch/path_bytes.ts";
import { changeReason, type FileChange } from "./file_change.ts";
import type { BaselineRecord, BaselineStore } from "../store/baseline_store.ts";
import type { FileState } from "../watch/file_state.ts";
import type {
  Consumer,
  ConsumerContext,
  IncludedPath,
  SemanticEvent,
} from "../consumers/consumer.ts";
import { genericEvent } from "../consumers/generic.ts";
import type { ConsumerName } from "../config/config_types.ts";
import { semanticConsumer } from "../consumers/registry.ts";
import { textLineDiff } from "../consumers/text_diff.ts";
import { boundedChanges } from "../consumers/bounded_changes.ts";
import { isNotText, markNotText, meaningOf } from "../consumers/not_text_snapshot.ts";
import { MAX_PARSE_BYTES } from "../consumers/parse_result.ts";
import {
  hashIsSecret,
  isSecretSnapshot,
  keyedState,
  secretLineCounts,
  secretSnapshot,
  withKeyedHashes,
} from "../consumers/secret_files.ts";
import { errorMessage } from "../error_message.ts";
import { changeTime } from "./change_time.ts";
import { redactPasswordHashes, redactPasswordHashesIn } from "../consumers/password_hashes.ts";
import { mayHoldPasswordHash } from "../watch/hash_sniff.ts";
import { nameIsRoots } from "./root_named.ts";
import { liveBytes } from "../watch/read_batch.ts";
import { linkedFile } from "./linked_file.ts";

/** How one path is consumed. */
export interface PathRule {
  consumer: ConsumerName;
  /** No content kept, no line diff. */
  secret: boolean;
  /** Line diffs (generic text files) up to this size; 0 = off. */
  diffMaxBytes: number;
  /** Line diffs also for generic files no other user may read (see hiddenFromOthers). */
  diffPrivate?: boolean;
  /** The watch's ignore rules, tags and severity. */
  policy?: WatchPolicy;
  /**
   * The consumer was chosen by the file's name (`passwd`, `sudoers`, ...),
   * not configured: it reads the file by meaning while root owns it, or once
   * the baseline holds its meaning (semanticFor). A `passwd` a user made in a
   * directory they can write is that user's file, not an account database:
   * read by meaning it gave 180,000 `user_added` events and 745 MB of memory.
   */
  byName?: boolean;
}

/**
 * Whether the baseline kept `snap` as a file's meaning (a consumer's
 * snapshot), not as its text (its bytes, or `{ lines }` as kept before 2026-12).
 */
function keptAsMeaning(snap: unknown): boolean {
  if (snap === undefined || snap === null || snap instanceof Uint8Array) return false;
  return !Array.isArray((snap as { lines?: unknown }).lines);
}

/**
 * The semantic consumer that reads `state` (its owner is what counts) at
 * `path` under `rule`, if any (see PathRule.byName): chosen by name, it
 * reads a file root owns, one its `readsByName` says the owner's own
 * program reads, one in a directory only root can write (its name is
 * root's: nameIsRoots), or one the baseline already read by meaning
 * (`before` gives the baseline's snapshot, asked only when the owner
 * decides). An account database root owned stays one whoever owns it
 * later: read as a text file after `chown nobody /etc/passwd`, a uid-0 line
 * added then was a plain line diff, and `chown root` after it reported
 * every account as added. The same holds when the chown came while bpfink
 * was down: the first baseline reads it by meaning (and reports its owner,
 * ownerNotRoot), or an attacker could blind its meaning for good.
 */
function semanticFor(
  rule: PathRule,
  path: string,
  state: Pick<FileState, "uid"> | undefined,
  ctx: ConsumerContext,
  before: () => unknown,
) {
  if (rule.secret) return undefined;
  const c = semanticConsumer(rule.consumer);
  if (!c || !rule.byName || !state || state.uid === 0) return c;
  if (c.readsByName?.(path, state.uid, ctx)) return c;
  return nameIsRoots(path) || keptAsMeaning(before()) ? c : undefined;
}

/**
 * Whether `change` may have changed the content: not when both sides were
 * hashed alike (a chmod, chown, touch or rename). A line diff of equal
 * content has no line, which textLineDiff reads as a password hash changed.
 */
function contentMayDiffer(change: FileChange): boolean {
  const a = change.before?.sha256;
  const b = change.after?.sha256;
  return a === undefined || b === undefined || a !== b;
}

/** What the pipeline needs around it. */
export interface PipelineOptions {
  store: BaselineStore;
  ctx: ConsumerContext;
  hostname: string;
  ruleFor(path: string): PathRule;
  /**
   * Hands events to the outputs; must not throw. `outboxIds` are their rows in
   * the store's outbox: the caller acknowledges each (`store.ack`) once every
   * output has delivered it. What is never acknowledged is delivered again,
   * flagged `redelivered`, on the next start.
   */
  deliver(events: ChangeEvent[], outboxIds: number[]): void;
  /** A change an ignore rule matched: the baseline moved, nothing was reported. */
  onIgnored?(change: FileChange, why: string): void;
  /** Files and directories a consumer says this file pulls in (sudoers includes). */
  watchAlso?(paths: IncludedPath[], consumer: ConsumerName): void;
}

export { MAX_PARSE_BYTES };

const decoder = new TextDecoder();

/** Outbox rows a start's redelivery reads and hands to the outputs at a time. */
const REDELIVER_PAGE = 256;
const encoder = new TextEncoder();

/**
 * The content of `state` (which has some) with every password hash redacted,
 * as text and as bytes; decoded and encoded only when the read said it may
 * hold one.
 */
function withoutHashes(state: FileState): { text: string; bytes: Uint8Array } {
  const content = state.content!;
  if (!(state.contentMayHoldHash ?? mayHoldPasswordHash(content))) {
    return {
      get text() {
        return decoder.decode(content);
      },
      bytes: content,
    };
  }
  const text = decoder.decode(content);
  const redacted = redactPasswordHashes(text);
  return redacted === text
    ? { text, bytes: content }
    : { text: redacted, bytes: encoder.encode(redacted) };
}

/**
 * Whether a plain file's lines are kept from events and the database: its
 * mode lets no other user read it (a private key, a credential file, a
 * password in a tool's config), so its owner hid it, and bpfink shows no
 * more of it than its permissions do. Its lines are kept as keyed
 * fingerprints, as a secret file's are (added and removed lines counted), unless
 * the watch says `diff_private`. Read by meaning, a file is its consumer's.
 */
function hiddenFromOthers(rule: PathRule, state: Pick<FileState, "mode">): boolean {
  return !rule.diffPrivate && (state.mode & 0o004) === 0;
}

/** Whether the content of `state` (which has some) holds a NUL byte: it is not text. */
function hasNul(state: FileState): boolean {
  return state.contentHasNul ?? state.content!.includes(0);
}

/** Turns file changes into committed, delivered events. */
export class ChangePipeline {
  /** The consumers' context in a diff: other files' meaning is their committed baseline. */
  readonly #diffContext: ConsumerContext;

  constructor(readonly opts: PipelineOptions) {
    this.#diffContext = {
      ...opts.ctx,
      baseline: (path) => meaningOf(opts.store.get(path)?.snapshot),
    };
  }

  /**
   * How much of `path`'s content the pipeline uses: all of it (up to the
   * parse limit) for a parsed or fingerprinted file, up to the line-diff
   * limit for a generic one (0 with diffs off). A read may keep less.
   */
  contentWanted(path: string): number {
    const rule = this.opts.ruleFor(path);
    if (hashIsSecret(path, rule.secret) || semanticConsumer(rule.consumer)) return MAX_PARSE_BYTES;
    return Math.min(rule.diffMaxBytes, MAX_PARSE_BYTES);
  }

  /**
   * The snapshot a consumer (or the generic differ) keeps for `state`;
   * `before` is the baseline's snapshot of `path` (read from the store when
   * not given).
   */
  snapshotOf(
    path: string,
    state: FileState | undefined,
    before: () => unknown = () => this.opts.store.get(path)?.snapshot,
  ): unknown {
    if (!state?.content) return undefined;
    // Freed with its window (releaseBuffers()), it would read as an empty file: a wrong diff.
    liveBytes(state.content, path);
    const rule = this.opts.ruleFor(path);
    // A secret file is never parsed: any consumer's snapshot would hold its text.
    if (rule.secret) return secretSnapshot(decoder.decode(state.content), this.opts.ctx);
    const c = semanticFor(rule, path, state, this.opts.ctx, before);
    if (c) {
      try {
        const asIs = () =>
          c.snapshot(path, decoder.decode(state.content!), this.opts.ctx, state.content);
        const snap = c.readsPasswords
          ? asIs()
          : c.readsBytesAsIs
          ? redactPasswordHashesIn(asIs())
          : ((w) => c.snapshot(path, w.text, this.opts.ctx, w.bytes))(withoutHashes(state));
        return hasNul(state) ? markNotText(snap) : snap;
      } catch (e) {
        this.opts.ctx.warn(
          `${path}: ${rule.consumer} consumer failed: ${errorMessage(e)}`,
        );
        return undefined;
      }
    }
    if (rule.diffMaxBytes === 0 || state.content.length > rule.diffMaxBytes) {
      return undefined; // a generic file without a line diff: nothing to decode
    }
    if (hasNul(state)) return undefined; // binary
    if (hiddenFromOthers(rule, state)) {
      return secretSnapshot(decoder.decode(state.content), this.opts.ctx);
    }
    // The bytes themselves, stored as such and split into lines when a diff needs them
    // (text_diff.ts): a first baseline writes each text file once, not decoded and encoded.
    // Unless they may hold a password hash: then the text with every hash redacted.
    const bytes = withoutHashes(state).bytes;
    // A user's text is bounded (owner_text.ts): past it, hashed and reported without a line diff.
    return this.opts.store.mayKeepText(state.uid, path, bytes.length) ? bytes : undefined;
  }

  /**
   * The snapshot to keep in place of `stored` when the baseline kept the text
   * of a generic file that is now hidden from others (hiddenFromOthers): an
   * older bpfink's, which kept every text file's. Undefined when `stored` may
   * stay.
   */
  hiddenText(path: string, state: FileState, stored: unknown): unknown {
    if (stored === undefined || keptAsMeaning(stored)) return undefined;
    if (!hiddenFromOthers(this.opts.ruleFor(path), state)) return undefined;
    const snap = this.snapshotOf(path, state, () => stored);
    return isSecretSnapshot(snap) ? snap : undefined;
  }

  /** A baseline record for `state`. */
  recordOf(path: string, state: FileState, snapshot: unknown): BaselineRecord {
    state = this.keyed(path, state)!;
    return {
      path,
      consumer: this.opts.ruleFor(path).consumer,
      dev: state.id.dev,
      ino: String(state.id.ino),
      size: state.size,
      mode: state.mode,
      uid: state.uid,
      gid: state.gid,
      mtimeMs: state.mtimeMs,
      ctimeMs: state.ctimeMs,
      mtimeNs: state.mtimeNs,
      ctimeNs: state.ctimeNs,
      nlink: state.nlink,
      sha256: state.sha256,
      type: state.type ?? "file",
      linkTarget: state.linkTarget,
      attrs: state.attrs,
      snapshot,
    };
  }

  /** Records `state` as the baseline of `path` without reporting anything (first sight). */
  adopt(path: string, state: FileState | undefined): void {
    this.adoptMany([[path, state]]);
  }

  /**
   * Adopts many paths in one transaction (the first baseline of a large
   * tree). Nothing is reported but what a first sight can tell is wrong: a
   * file read by meaning that root does not own (ownerNotRoot).
   */
  adoptMany(items: [string, FileState | undefined][]): void {
    const updates: [string, BaselineRecord | undefined][] = [];
    const snaps: [string, unknown, PathRule, FileState | undefined][] = [];
    const events: ChangeEvent[] = [];
    for (const [path, state] of items) {
      // Asked once here: the calls below ask for the same path's rule, which is kept.
      const rule = this.opts.ruleFor(path);
      const snap = this.snapshotOf(path, state);
      updates.push([path, state ? this.recordOf(path, state, snap) : undefined]);
      snaps.push([path, snap, rule, state]);
      const owner = state && this.#ownerNotRoot(path, state, rule, snap);
      if (owner) events.push(owner);
    }
    const queued = this.opts.store.commit(updates, events);
    if (events.length > 0) this.opts.deliver(events, queued.map((q) => q.id));
    for (const [path, snap, rule, state] of snaps) this.#followIncludes(path, snap, state, rule);
  }

  /**
   * For a file first seen (`snap` its snapshot), the event that says it is
   * read by meaning though root does not own it: the `chown nobody
   * /etc/passwd` a live change reports (high) as giving root's file away,
   * found instead at the first baseline. Not for a file its owner's own
   * program reads (`~/.ssh/authorized_keys`, a user's crontab).
   */
  #ownerNotRoot(
    path: string,
    state: FileState,
    rule: PathRule,
    snap: unknown,
  ): ChangeEvent | undefined {
    if (!rule.byName || state.uid === 0 || !keptAsMeaning(snap)) return undefined;
    const c = semanticConsumer(rule.consumer);
    if (!c || c.readsByName?.(path, state.uid, this.opts.ctx)) return undefined;
    const change: FileChange = {
      action: "attributes_changed",
      path,
      kind: "file",
      root: path,
      after: state,
      folded: 0,
      reason: "offline",
    };
    return semanticEvent(
      {
        action: `${rule.consumer}_owner_not_root`,
        message: `${displayPath(path)} is owned by uid ${state.uid}, not root: it is read as ` +
          `${rule.consumer} all the same, and uid ${state.uid} can rewrite it`,
        changes: [{ field: "uid", to: state.uid }],
      },
      change,
      rule.consumer,
      this.opts.hostname,
      new Date(),
      "high",
    );
  }

  /**
   * `state` as it is stored and compared with the baseline: for secret and
   * password files, a keyed fingerprint instead of the sha256.
   */
  keyed(path: string, state: FileState | undefined): FileState | undefined {
    return hashIsSecret(path, this.opts.ruleFor(path).secret)
      ? keyedState(state, this.opts.ctx)
      : state;
  }

  /**
   * Watches what the file at `path` pulls in: the files its consumer's
   * `watchAlso` names, or, for a symlink read by meaning that root made, the
   * file it points at (linkedFile), read by the same consumer.
   */
  #followIncludes(
    path: string,
    snap: unknown,
    state: FileState | undefined,
    rule = this.opts.ruleFor(path),
  ): void {
    if (rule.secret) return;
    if (state?.type === "symlink") {
      const linked = semanticConsumer(rule.consumer) && linkedFile(path, state);
      if (linked) this.opts.watchAlso?.([linked], rule.consumer);
      return;
    }
    // A file read as plain text (bytes: not by meaning) includes nothing.
    if (snap === undefined || snap instanceof Uint8Array) return;
    const more =
      semanticConsumer(rule.consumer)?.watchAlso?.(meaningOf(snap), path, this.opts.ctx) ?? [];
    if (!more.length) return;
    // What a user's own file names (a crontab's programs, a .bashrc's sources) is the user's
    // choice of path: watched by hash only, or `. /etc/ssl/private/x.key` would quote the key.
    const byUser = state !== undefined && state.uid !== 0;
    this.opts.watchAlso?.(byUser ? more.map((p) => ({ ...p, secret: true })) : more, rule.consumer);
  }

  /** Reports one change: raw file event plus the consumer's semantic events. */
  handle(change: FileChange): void {
    const rule = this.opts.ruleFor(change.path);
    const before = this.opts.store.get(change.path);
    const beforeSnap = () => before?.snapshot;
    const afterSnap = this.snapshotOf(change.path, change.after, beforeSnap);
    const policy = rule.policy;
    const ignored = policy?.ignored(change.path, change.cause, change.otherWriters);
    // A directory's churn summary says nothing of the directory itself: its record stays.
    const churn = change.action === "churned";
    if (ignored) {
      const rec = change.after ? this.recordOf(change.path, change.after, afterSnap) : undefined;
      this.opts.store.commit(churn ? [] : [[change.path, rec]], []);
      this.opts.onIgnored?.(change, ignored);
      this.#followIncludes(change.path, afterSnap, change.after);
      return;
    }
    const tagged = (e: ChangeEvent): ChangeEvent =>
      policy?.tags.length ? { ...e, tags: [...policy.tags] } : e;
    const keyedHash = hashIsSecret(change.path, rule.secret);
    // Read access granted by an ACL matters on these as write access does elsewhere.
    const secret = keyedHash || change.after?.contentMayHoldHash === true ||
      change.before?.contentMayHoldHash === true;
    const raw = tagged(
      keyedHash
        ? withKeyedHashes(genericEvent(
          {
            ...change,
            secret,
            before: this.keyed(change.path, change.before),
            after: this.keyed(change.path, change.after),
          },
          this.opts.hostname,
          new Date(),
          policy?.severity,
        ))
        : genericEvent({ ...change, secret }, this.opts.hostname, new Date(), policy?.severity),
    );
    const events: ChangeEvent[] = [raw];
    // What the baseline keeps as this file's meaning.
    let storedSnap = afterSnap;
    // A file gone before it was read is owned, as far as anyone can tell, by whoever made it.
    const made = change.notRead && change.cause ? { uid: change.cause.euid } : undefined;
    const c = churn ? undefined : semanticFor(
      rule,
      change.path,
      change.after ?? change.before ?? made,
      this.opts.ctx,
      beforeSnap,
    );
    const unread = change.action === "created" && change.notRead !== undefined;
    // A secret file, or a plain one hidden from others on either side (hiddenFromOthers): its
    // lines are fingerprints, counted at most.
    const counted = rule.secret || (!c && [before?.snapshot, afterSnap].some(isSecretSnapshot));
    if (counted) {
      const lines = secretLineCounts(before?.snapshot, afterSnap);
      raw.bpfink = { ...raw.bpfink, secret: true, ...(lines ? { lines } : {}) };
    } else if (c && ((change.after && !change.after.content) || unread)) {
      // The file is there but its content could not be read (too large, not a
      // regular file, unreadable): say so, and keep the last meaning as the baseline, so that
      // whatever was added meanwhile is reported once it can be read again.
      // Diffing against nothing would report every account removed and hide
      // the one added (a passwd padded past the parse limit).
      storedSnap = before?.snapshot;
      const type = change.after?.type;
      const why = !change.after
        ? `it was made and gone before it could be read (${change.notRead})`
        : type && type !== "file"
        ? `it is a ${type}, not a regular file`
        : change.after.size > MAX_PARSE_BYTES
        ? `it is ${change.after.size} bytes, over the ${MAX_PARSE_BYTES >> 20} MiB parse limit`
        : "its content could not be read";
      events.push(tagged(semanticEvent(
        {
          action: `${rule.consumer}_unreadable`,
          message: `${change.path}: its meaning is not checked: ${why}`,
        },
        change,
        rule.consumer,
        this.opts.hostname,
        new Date(),
        "high",
      )));
    } else if (c) {
      let semantic: SemanticEvent[] = [];
      try {
        semantic = this.#meaningChanges(c, rule.consumer, change, before?.snapshot, afterSnap);
      } catch (e) {
        this.opts.ctx.warn(
          `${change.path}: ${rule.consumer} diff failed: ${errorMessage(e)}`,
        );
      }
      // A consumer that does not read password fields was given redacted text; a snapshot it
      // kept before hashes were redacted may still hold one.
      if (!c.readsPasswords) semantic = semantic.map(redactSemantic);
      for (const s of semantic) {
        const e = semanticEvent(s, change, rule.consumer, this.opts.hostname);
        const floor = policy?.severity;
        events.push(tagged(
          floor && SEVERITY_LEVELS.indexOf(floor) > SEVERITY_LEVELS.indexOf(levelOf(e))
            ? semanticEvent(s, change, rule.consumer, this.opts.hostname, new Date(), floor)
            : e,
        ));
      }
    } else if (change.kind === "file" && contentMayDiffer(change)) {
      const diff = textLineDiff(before?.snapshot, afterSnap);
      if (diff) raw.bpfink = { ...raw.bpfink, diff };
    }
    // @timestamp is when the change happened (its kernel event), event.created when it was told.
    const at = changeTime(change, new Date()).toISOString();
    for (const e of events) {
      e.event.created = e["@timestamp"];
      e["@timestamp"] = at;
    }
    const rec = change.after ? this.recordOf(change.path, change.after, storedSnap) : undefined;
    const queued = this.opts.store.commit(churn ? [] : [[change.path, rec]], events);
    this.opts.deliver(events, queued.map((q) => q.id));
    this.#followIncludes(change.path, storedSnap, change.after);
  }

  /**
   * What `change` did to the file's meaning, by `c`, bounded (every
   * consumer's, here): a blob that comes, changes or goes (content that is
   * not text) is one not-text event and its critical changes. A blob
   * replaced by text is two things: the blob gone (one event) and the text's
   * own changes, itemized as any text file's.
   */
  #meaningChanges(
    c: Consumer,
    consumer: string,
    change: FileChange,
    beforeSnap: unknown,
    afterSnap: unknown,
  ): SemanticEvent[] {
    const diff = (a: unknown, b: unknown) =>
      c.diff(change.path, meaningOf(a), meaningOf(b), this.#diffContext);
    const may = contentMayDiffer(change);
    const now = may && isNotText(afterSnap);
    const was = may && isNotText(beforeSnap);
    if (was && !now) {
      return [
        ...boundedChanges(consumer, diff(beforeSnap, undefined), { now, before: was }, c.notText),
        ...boundedChanges(consumer, diff(undefined, afterSnap)),
      ];
    }
    return boundedChanges(consumer, diff(beforeSnap, afterSnap), { now, before: was }, c.notText);
  }

  /**
   * Delivers what a previous run committed but did not deliver, flagged
   * `redelivered`, a page at a time with a turn of the event loop between
   * pages: an outbox left by a long outage may hold far more than memory
   * should (45,513 events parsed at once took a start to 862 MiB), and
   * outputs send while it is read. Only the rows there when it starts: the
   * events of this run are delivered as they are made.
   */
  async redeliver(): Promise<number> {
    const store = this.opts.store;
    const end = store.outboxEnd();
    let after = 0, n = 0;
    for (;;) {
      const page = store.outboxAfter(after, REDELIVER_PAGE, end);
      if (!page?.length) return n;
      this.opts.deliver(
        page.map((l) => redelivered(l.event)),
        page.map((l) => l.id),
      );
      n += page.length;
      after = page[page.length - 1].id;
      await new Promise((r) => setTimeout(r, 0));
    }
  }
}

/**
 * `s` with password hashes redacted from its message, changes and fields. A
 * changed line the message quotes is redacted as a line (a DES hash is known
 * by its place in one), then the rest of the message as text.
 */
function redactSemantic(s: SemanticEvent): SemanticEvent {
  let message = s.message;
  const quoted = (v: unknown): void => {
    if (typeof v === "string") {
      const r = redactPasswordHashes(v);
      if (r !== v) message = message.replaceAll(v, r);
    } else if (Array.isArray(v)) v.forEach(quoted);
  };
  for (const c of s.changes ?? []) {
    quoted(c.from);
    quoted(c.to);
  }
  return {
    ...s,
    message: redactPasswordHashes(message),
    ...(s.changes
      ? { changes: redactPasswordHashesIn(s.changes) as SemanticEvent["changes"] }
      : {}),
    ...(s.fields ? { fields: redactPasswordHashesIn(s.fields) as SemanticEvent["fields"] } : {}),
  };
}

const CATEGORY: Record<string, string[]> = {
  users: ["iam"],
  groups: ["iam"],
  sudoers: ["configuration", "iam"],
  access: ["configuration", "iam"],
};

function eventType(action: string): string[] {
  const subject = action.startsWith("group")
    ? "group"
    : action.startsWith("user") || action.startsWith("password")
    ? "user"
    : undefined;
  const verb = /_(added|created)$/.test(action)
    ? "creation"
    : /_(removed|deleted)$/.test(action)
    ? "deletion"
    : "change";
  return subject ? [subject, verb] : [verb];
}

/**
 * The change event for one semantic change. ECS places: the account acted
 * upon in `user.target.*` (a group in `group.*`), the actor in `user.*` and
 * `process.*`. Its level: `severity` when given, else the consumer's
 * (`s.severity`), else the default for its action.
 */
export function semanticEvent(
  s: SemanticEvent,
  change: FileChange,
  consumer: string,
  hostname: string,
  now = new Date(),
  severity?: SeverityLevel,
): ChangeEvent {
  const actor = actorEcs(change.cause);
  const target = s.fields?.user;
  const user = actor.fields.user || target
    ? { ...actor.fields.user, ...(target ? { target: { ...target } } : {}) }
    : undefined;
  return withEnvelope(
    {
      "@timestamp": now.toISOString(),
      event: {
        id: crypto.randomUUID(),
        action: s.action,
        category: Object.hasOwn(CATEGORY, consumer) ? CATEGORY[consumer] : ["file"],
        type: eventType(s.action),
        kind: "event",
        reason: changeReason(change),
        module: "bpfink",
        dataset: `bpfink.${consumer}`,
      },
      file: { path: displayPath(change.path), ...pathParts(displayPath(change.path)) },
      ...(actor.fields.process ? { process: actor.fields.process } : {}),
      ...(actor.fields.container ? { container: actor.fields.container } : {}),
      ...(user ? { user } : {}),
      ...(s.fields?.group ? { group: { ...s.fields.group } } : {}),
      message: s.message,
      bpfink: {
        consumer,
        ...actor.extra,
        ...(s.changes ? { changes: s.changes } : {}),
        ...(s.source ? { source: s.source } : {}),
        ...otherWritersEcs(change.otherWriters),
      },
    },
    hostname,
    severity ?? s.severity,
  );
}

/** The level an event was given (`bpfink.severity`), or the default for it. */
function levelOf(e: ChangeEvent): SeverityLevel {
  const level = e.bpfink?.severity;
  return SEVERITY_LEVELS.find((l) => l === level) ?? severityOf(e);
}

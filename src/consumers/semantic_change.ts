/**
 * What a semantic differ returns: one change of meaning ("user alice added
 * with uid 0"), never a secret. Consumers pass these on as events; the type
 * is structurally the consumers' `SemanticEvent`.
 *
 * @module
 */
import type { SeverityLevel } from "../pipeline/severity.ts";

/** A value in a from → to change. Never a hash or a fingerprint. */
export type FieldValue = string | number | boolean | null | string[];

/** One field that changed. */
export interface FieldChange {
  field: string;
  from?: FieldValue;
  to?: FieldValue;
}

/** Where the change is in the watched files. */
export interface SourceRef {
  file: string;
  /** 1-based line (for removals: in the old file), when known. */
  line?: number;
}

/** ECS fields the change fills: the user or group acted upon. */
export interface SubjectFields {
  user?: { name?: string; id?: string };
  group?: { name?: string; id?: string };
}

/** One semantic change. */
export interface SemanticChange {
  /** `event.action`, e.g. `user_added`, `sudoers_rule_added`. */
  action: string;
  /** What it is about: a user or group name, a rule's canonical text. */
  subject?: string;
  /** For people, e.g. "user alice added with uid 0". Control characters escaped. */
  message: string;
  /** What changed, from → to. */
  changes?: FieldChange[];
  /** Where, when known. */
  source?: SourceRef;
  /** ECS fields (user, group). */
  fields?: SubjectFields;
  /** The level from what only the file says; the default level when absent. */
  severity?: SeverityLevel;
}

/** Longest value quoted in a message. */
const MAX_SHOWN = 1000;

/**
 * `value` made safe for a message line: control characters (which could
 * drive a terminal) escaped as `\xNN`, cut to 1000 characters.
 */
export function shown(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return "unset";
  const s = String(value);
  const cut = s.length > MAX_SHOWN ? s.slice(0, MAX_SHOWN) + "…" : s;
  let out = "";
  for (const ch of cut) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? "\\x" + c.toString(16).padStart(2, "0") : ch;
  }
  return out;
}

/** Most changes one diff itemizes; the rest are counted in one summary change. */
export const MAX_ITEMIZED_CHANGES = 1000;

/**
 * The changes of one diff, itemized up to {@link MAX_ITEMIZED_CHANGES}. A
 * file rewritten wholesale (or a sudoers `Defaults` line with 90,000
 * settings) must not flood the outputs or stall the agent: beyond the
 * limit, changes are only counted, and {@link ChangeList.done} adds one
 * `<what>_changes_not_itemized` change that says how many.
 */
export class ChangeList {
  readonly #items: SemanticChange[] = [];
  #over = 0;

  /** `what` names the file kind in the summary's action, e.g. `sudoers`. */
  constructor(readonly what: string, readonly limit: number = MAX_ITEMIZED_CHANGES) {}

  /** Whether further changes are only counted (callers may then skip building them). */
  get full(): boolean {
    return this.#items.length >= this.limit;
  }

  /** Adds changes, counting those beyond the limit. */
  push(...changes: SemanticChange[]): void {
    for (const c of changes) {
      if (this.full) this.#over++;
      else this.#items.push(c);
    }
  }

  /** Adds a change about the whole file (a reorder), itemized even when the list is full. */
  always(change: SemanticChange): void {
    this.#items.push(change);
  }

  /** Counts `n` changes that were not built because the list is full. */
  skip(n: number): void {
    this.#over += n;
  }

  /** The itemized changes, plus the summary when some were only counted. */
  done(): SemanticChange[] {
    if (this.#over === 0) return this.#items;
    return [...this.#items, {
      action: `${this.what}_changes_not_itemized`,
      message:
        `${this.#over} more ${this.what} changes not itemized (at most ${this.limit} per diff)`,
      changes: [{ field: "not_itemized", to: this.#over }],
    }];
  }
}

/**
 * What a semantic differ returns: one change of meaning ("user alice added
 * with uid 0"), never a secret. Consumers pass these on as events; the type
 * is structurally the consumers' `SemanticEvent`.
 *
 * @module
 */

import {
  defaultSeverity,
  NOT_ITEMIZED_SEVERITY_FIELD,
  SEVERITY_LEVELS,
  type SeverityLevel,
  weakenedBy,
  WEAKENS_FIELD,
} from "../pipeline/severity.ts";

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

/** Unicode format characters (category Cf): invisible, but part of a name. */
const FORMAT = /^\p{Cf}$/u;

/** Longest value quoted in a message. */
const MAX_SHOWN = 1000;

/**
 * `value` made safe for a message line: control characters (which could
 * drive a terminal) escaped as `\xNN`, invisible format characters (a BOM,
 * zero-width and bidirectional marks, which make `\ufeffalice` look like
 * `alice`) as `\u{NNNN}`, cut to 1000 characters.
 */
export function shown(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return "unset";
  const s = String(value);
  const cut = s.length > MAX_SHOWN ? s.slice(0, MAX_SHOWN) + "…" : s;
  let out = "";
  for (const ch of cut) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f)
      ? "\\x" + c.toString(16).padStart(2, "0")
      : FORMAT.test(ch)
      ? `\\u{${ch.codePointAt(0)!.toString(16)}}`
      : ch;
  }
  return out;
}

/** Most changes one diff itemizes; the rest are counted in one summary change. */
export const MAX_ITEMIZED_CHANGES = 1000;

/** The level `c` gets: its own (the consumer's), else the pipeline's one rule (`defaultSeverity`). */
export function changeSeverity(c: SemanticChange): SeverityLevel {
  return c.severity ?? defaultSeverity({
    action: c.action,
    message: c.message,
    changes: c.changes,
    target: c.fields?.user,
    group: c.fields?.group,
  });
}

/** What a {@link ChangeList} counted and did not itemize. */
export interface NotItemized {
  /** How many changes. */
  total: number;
  /** How many of each action. */
  byAction: ReadonlyMap<string, number>;
  /** The highest level among them; undefined when there are none. */
  level?: SeverityLevel;
  /** The protections they take away (`weakens`). */
  weakens: string[];
}

/** Changes about a whole file (a reorder): itemized past the limit, by any list they pass through. */
const wholeFile = new WeakSet<SemanticChange>();
/** The counts a summary change stands for, so that a list it passes through again adds them up. */
const summaries = new WeakMap<SemanticChange, NotItemized>();

/** The `<what>_changes_not_itemized` change for `n`. */
function notItemizedChange(what: string, limit: number, n: NotItemized): SemanticChange {
  const byAction = [...n.byAction].map(([action, k]) => `${k} ${action}`).join(", ");
  return {
    action: `${what}_changes_not_itemized`,
    message: `${n.total} more ${what} changes not itemized (at most ${limit} ` +
      `per diff, the most severe first; up to ${n.level}): ${byAction}`,
    changes: notItemizedFields(n),
  };
}

/** The `changes` fields that count `n`: total, highest level, per action, protections. */
export function notItemizedFields(n: NotItemized): FieldChange[] {
  return [
    { field: "not_itemized", to: n.total },
    ...(n.level ? [{ field: NOT_ITEMIZED_SEVERITY_FIELD, to: n.level }] : []),
    ...[...n.byAction].map(([action, k]) => ({ field: `not_itemized.${action}`, to: k })),
    ...(n.weakens.length > 0 ? [{ field: WEAKENS_FIELD, to: n.weakens }] : []),
  ];
}

/**
 * The changes of one diff, itemized up to {@link MAX_ITEMIZED_CHANGES}. A
 * file rewritten wholesale (or a sudoers `Defaults` line with 90,000
 * settings) must not flood the outputs or stall the agent, nor hide the one
 * change that matters behind a thousand decoys: the most severe changes are
 * itemized first (by {@link changeSeverity}, in their order within a
 * level), and {@link ChangeList.done} adds one `<what>_changes_not_itemized`
 * change that counts the rest by action, at the highest level among them,
 * with the protections they take away. Memory is bounded by the limit.
 *
 * Changes below `floor` are only counted, never itemized. A list's output
 * passed through another list is itemized and counted the same way: its
 * summary adds to the new list's counts, its whole-file changes stay
 * itemized (so the pipeline bounds every consumer's diff, whichever list
 * the differ used).
 */
export class ChangeList {
  /** Kept changes by level, least serious first (SEVERITY_LEVELS' order). */
  readonly #kept: SemanticChange[][] = SEVERITY_LEVELS.map(() => []);
  #count = 0;
  readonly #always: SemanticChange[] = [];
  readonly #over = new Map<string, number>();
  #overTotal = 0;
  #overLevel = -1;
  readonly #overWeakens = new Set<string>();
  readonly #floor: number;

  /** `what` names the file kind in the summary's action, e.g. `sudoers`. */
  constructor(
    readonly what: string,
    readonly limit: number = MAX_ITEMIZED_CHANGES,
    floor: SeverityLevel = SEVERITY_LEVELS[0],
  ) {
    this.#floor = SEVERITY_LEVELS.indexOf(floor);
  }

  #count1(action: string, n: number, level: number, weakens: Iterable<string>): void {
    this.#over.set(action, (this.#over.get(action) ?? 0) + n);
    this.#overTotal += n;
    this.#overLevel = Math.max(this.#overLevel, level);
    for (const w of weakens) this.#overWeakens.add(w);
  }

  #leaveOut(c: SemanticChange, level: number): void {
    this.#count1(c.action, 1, level, weakenedBy(c));
  }

  /** Adds changes; past the limit, the least severe (the latest of a level) are only counted. */
  push(...changes: SemanticChange[]): void {
    for (const c of changes) {
      const counted = summaries.get(c);
      if (counted) {
        const level = counted.level ? SEVERITY_LEVELS.indexOf(counted.level) : -1;
        for (const [action, n] of counted.byAction) this.#count1(action, n, level, counted.weakens);
        continue;
      }
      if (wholeFile.has(c)) {
        this.#always.push(c);
        continue;
      }
      const level = SEVERITY_LEVELS.indexOf(changeSeverity(c));
      if (level < this.#floor) {
        this.#leaveOut(c, level);
        continue;
      }
      if (this.#count < this.limit) {
        this.#kept[level].push(c);
        this.#count++;
        continue;
      }
      const lowest = this.#kept.findIndex((k) => k.length > 0);
      if (lowest >= 0 && lowest < level) {
        this.#leaveOut(this.#kept[lowest].pop()!, lowest);
        this.#kept[level].push(c);
      } else {
        this.#leaveOut(c, level);
      }
    }
  }

  /** Adds a change about the whole file (a reorder), itemized even when the list is full. */
  always(change: SemanticChange): void {
    wholeFile.add(change);
    this.#always.push(change);
  }

  /** What was counted and not itemized. */
  notItemized(): NotItemized {
    return {
      total: this.#overTotal,
      byAction: new Map(this.#over),
      level: this.#overLevel < 0 ? undefined : SEVERITY_LEVELS[this.#overLevel],
      weakens: [...this.#overWeakens],
    };
  }

  /** The itemized changes, most severe first, with whole-file changes after them. */
  itemized(): SemanticChange[] {
    return [...this.#kept].reverse().flat().concat(this.#always);
  }

  /** The itemized changes, most severe first, plus the summary when some were only counted. */
  done(): SemanticChange[] {
    const items = this.itemized();
    if (this.#overTotal === 0) return items;
    const n = this.notItemized();
    const summary = notItemizedChange(this.what, this.limit, n);
    summaries.set(summary, n);
    return [...items, summary];
  }
}

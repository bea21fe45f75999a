/**
 * The one bound every by-meaning consumer's diff passes through (the
 * pipeline applies it, so no consumer can forget it): at most
 * {@link MAX_ITEMIZED_CHANGES} changes itemized per change of a file, the
 * most severe first, the rest counted in one summary; and a file that is
 * not text (it holds a NUL byte: an ELF binary, an archive, a core dump
 * copied into `sudoers.d`, `cron.d`, `pam.d` ...) gives one
 * `<consumer>_not_text` event instead of one event per garbage "line",
 * when it comes and when it is replaced or removed (its snapshot is marked:
 * not_text_snapshot.ts).
 *
 * A binary's meaning is not thrown away: the programs that read these files
 * read a binary line by line like any other (sudo skips each line it cannot
 * parse and applies the ones that do; the C library reads each line of
 * passwd up to its NUL), so a grant hidden in a blob is a grant. The
 * not-text event counts every change of meaning by action, at the highest
 * level among them and with the protections they take away, and the
 * critical ones (a NOPASSWD rule, a uid-0 account, a preloaded object) are
 * still itemized, up to {@link NOT_TEXT_ITEMIZED}. The rest, whatever its
 * level, is counted only: the consumers read garbage leniently (a cron.d
 * line of an ELF is a "job" run as a user named by its sixth word, high),
 * and a blob is one thing to look at, not a hundred.
 *
 * @module
 */
import type { SemanticEvent } from "./consumer.ts";
import {
  ChangeList,
  MAX_ITEMIZED_CHANGES,
  type NotItemized,
  notItemizedFields,
  type SemanticChange,
} from "./semantic_change.ts";
import { maxSeverity } from "../pipeline/severity.ts";

/** Critical changes of a file that is not text itemized at most; the rest are counted. */
export const NOT_TEXT_ITEMIZED = 10;

/** What the program that reads a consumer's files does with one that is not text, by default. */
const READ_ANYWAY = "the program that reads it reads it line by line all the same, " +
  "and the lines it can parse count";

/** "3 sudoers_rule_added, 140 sudoers_unparsed_added". */
function counts(n: NotItemized): string {
  return [...n.byAction].map(([action, k]) => `${k} ${action}`).join(", ") || "none";
}

/** Which side of a change is not text. */
export interface NotText {
  /** The content now. */
  now: boolean;
  /** The content the baseline had (a blob replaced or removed). */
  before: boolean;
}

/** The one event that says a file is (or was) not text, counting the changes of meaning. */
function notTextEvent(
  consumer: string,
  n: NotItemized,
  itemized: number,
  side: NotText,
  verdict: string,
): SemanticEvent {
  const shownToo = itemized > 0 ? `; the ${itemized} critical ones are itemized too` : "";
  const what = side.now
    ? `is not text (it holds NUL bytes): ${verdict}`
    : "was not text (it held NUL bytes), and what its lines meant is gone with it";
  return {
    action: `${consumer}_not_text`,
    message: `${consumer} file ${what}. ` +
      `Its changes of meaning are counted here, not itemized${shownToo}: ${counts(n)}`,
    changes: [
      {
        field: "content",
        ...(side.before ? { from: "not text (NUL bytes)" } : {}),
        ...(side.now ? { to: "not text (NUL bytes)" } : {}),
      },
      ...notItemizedFields(n),
    ],
    // A blob where a configuration file belongs is never an edit; as high as what it counts.
    severity: maxSeverity("high", n.level ?? "high"),
  };
}

/**
 * `changes` (one diff of `consumer`'s file) bounded: itemized up to the
 * limit, or, when the content now or before is not text (`notText`: a blob
 * added, changed, replaced or removed), one not-text event with `verdict`
 * (what the file's program does with it) and the critical changes.
 */
export function boundedChanges(
  consumer: string,
  changes: readonly SemanticEvent[],
  notText: NotText = { now: false, before: false },
  verdict: string = READ_ANYWAY,
): SemanticEvent[] {
  const blob = notText.now || notText.before;
  // Within the bound, the differ's own order stands (a user added, then the gids it gains).
  if (!blob && changes.length <= MAX_ITEMIZED_CHANGES) return [...changes];
  const list = blob
    ? new ChangeList(consumer, NOT_TEXT_ITEMIZED, "critical")
    : new ChangeList(consumer, MAX_ITEMIZED_CHANGES);
  list.push(...changes as SemanticChange[]);
  if (!blob) return list.done();
  const itemized = list.itemized();
  return [
    notTextEvent(consumer, list.notItemized(), itemized.length, notText, verdict),
    ...itemized,
  ];
}

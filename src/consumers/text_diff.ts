/**
 * The line diff the generic consumer attaches to a `modified` event: lines
 * added and removed between two stored snapshots, in order (Myers, see
 * consumers/line_diff.ts), capped for output.
 *
 * @module
 */
import { diffLineLists } from "./line_diff.ts";
import { redactPasswordHashes } from "./password_hashes.ts";
import { cutText } from "../pipeline/event_size.ts";

/** Lines shown at most per side. */
export const MAX_DIFF_LINES = 200;
/**
 * Characters shown at most of each line, cut after its password hashes are
 * redacted (a cut before could split a hash so that no pattern finds its
 * shown half), and saying how many it left out.
 */
export const MAX_LINE_CHARS = 1000;

/** A line diff for an event. */
export interface TextDiff {
  added: string[];
  removed: string[];
  /** True when more lines changed than are shown. */
  truncated?: boolean;
  /**
   * True when no line changed once password hashes were redacted: what
   * changed was a hash (the snapshots are kept redacted).
   */
  hashes_only?: boolean;
}

const decoder = new TextDecoder();

/**
 * The lines of a generic snapshot: a text file's bytes (invalid UTF-8 read
 * as U+FFFD, as everywhere), or `{ lines }` as bpfink stored them before 2026-12.
 */
function linesOf(snap: unknown): string[] | undefined {
  if (snap instanceof Uint8Array) return decoder.decode(snap).split("\n");
  if (typeof snap !== "object" || snap === null) return undefined;
  const lines = (snap as { lines?: unknown }).lines;
  return Array.isArray(lines) && lines.every((l) => typeof l === "string") ? lines : undefined;
}

/** A changed line as an event shows it: hashes redacted, then cut to MAX_LINE_CHARS. */
function shown(line: string): string {
  return cutText(redactPasswordHashes(line), MAX_LINE_CHARS);
}

/**
 * Added and removed lines between two text snapshots, in order: a line
 * moved elsewhere is removed and added (order can be meaning, e.g. in a
 * first-match rule file). Password hashes in them are redacted. Called only
 * for content that changed: no line changed means a hash did (`hashes_only`). Undefined when either side has no lines or the
 * files are too large to diff.
 */
export function textLineDiff(before: unknown, after: unknown): TextDiff | undefined {
  const a = linesOf(before);
  const b = linesOf(after);
  if (!a || !b) return undefined;
  const d = diffLineLists(a, b, {
    maxShown: MAX_DIFF_LINES,
    maxLineChars: Number.MAX_SAFE_INTEGER,
  });
  if (d.status !== "diff") return undefined;
  // Snapshots are kept with hashes redacted (change_pipeline.ts); one kept before that was not.
  const added = d.added.map((l) => shown(l.text));
  const removed = d.removed.map((l) => shown(l.text));
  return {
    added,
    removed,
    ...(d.truncated ? { truncated: true } : {}),
    ...(added.length === 0 && removed.length === 0 ? { hashes_only: true } : {}),
  };
}

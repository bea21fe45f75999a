/**
 * A by-meaning snapshot of content that is not text (it holds a NUL byte),
 * marked as such in the baseline: the lines of a blob that the consumer
 * kept (a sudoers line per garbage "line") are counted, not itemized, when
 * the blob is replaced or removed too, not only when it comes
 * (bounded_changes.ts). The pipeline marks and unmarks; consumers only ever
 * see their own snapshots.
 *
 * @module
 */

/** The key of the mark: no consumer's snapshot has it (and arrays are wrapped, not extended). */
const MARK = "bpfink_not_text";

/** `snapshot` of content that is not text, marked. */
export function markNotText(snapshot: unknown): unknown {
  return snapshot === undefined ? undefined : { [MARK]: snapshot };
}

/** Whether `snapshot` was marked by {@link markNotText}. */
export function isNotText(snapshot: unknown): boolean {
  return typeof snapshot === "object" && snapshot !== null && !(snapshot instanceof Uint8Array) &&
    Object.hasOwn(snapshot, MARK);
}

/** The consumer's own snapshot, marked or not. */
export function meaningOf(snapshot: unknown): unknown {
  return isNotText(snapshot) ? (snapshot as Record<string, unknown>)[MARK] : snapshot;
}

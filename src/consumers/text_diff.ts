/**
 * The line diff the generic consumer attaches to a `modified` event: lines
 * added and removed between two stored snapshots, capped for output.
 *
 * @module
 */

/** Lines shown at most per side. */
export const MAX_DIFF_LINES = 200;

/** A line diff for an event. */
export interface TextDiff {
  added: string[];
  removed: string[];
  /** True when more lines changed than are shown. */
  truncated?: boolean;
}

function linesOf(snap: unknown): string[] | undefined {
  if (typeof snap !== "object" || snap === null) return undefined;
  const lines = (snap as { lines?: unknown }).lines;
  return Array.isArray(lines) && lines.every((l) => typeof l === "string") ? lines : undefined;
}

/**
 * Added and removed lines between two `{ lines }` snapshots, as multisets (a
 * moved line is not a change). Undefined when either side has no lines.
 */
export function textLineDiff(before: unknown, after: unknown): TextDiff | undefined {
  const a = linesOf(before);
  const b = linesOf(after);
  if (!a || !b) return undefined;
  const count = new Map<string, number>();
  for (const l of a) count.set(l, (count.get(l) ?? 0) + 1);
  const added: string[] = [];
  for (const l of b) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else added.push(l);
  }
  const removed: string[] = [];
  for (const l of a) {
    const n = count.get(l) ?? 0;
    if (n > 0) {
      removed.push(l);
      count.set(l, n - 1);
    }
  }
  const truncated = added.length > MAX_DIFF_LINES || removed.length > MAX_DIFF_LINES;
  return {
    added: added.slice(0, MAX_DIFF_LINES),
    removed: removed.slice(0, MAX_DIFF_LINES),
    ...(truncated ? { truncated } : {}),
  };
}

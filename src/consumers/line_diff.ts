/**
 * A line diff for text files of any kind: which lines were added and
 * removed, with their line numbers, bounded in time and memory.
 *
 * - Binary content (a NUL byte, or more than 10% of the text undecodable as
 *   UTF-8) is not diffed: `{ status: "binary" }`.
 * - Content above `maxBytes` or `maxLines` per side is not diffed:
 *   `{ status: "too_large" }`.
 * - Otherwise the common head and tail are cut off and the middle is diffed
 *   with Myers' algorithm, bounded by `maxEdits` (memory grows with the
 *   square of the edit count, never with the file size squared) and
 *   `maxWork` (comparisons). Beyond either bound it falls back to a
 *   multiset diff (lines whose count changed), which is linear.
 *
 * @module
 */
import { multisetDiff } from "./_multiset_diff.ts";

/** Limits; every one has a default. */
export interface LineDiffOptions {
  /** Bytes per side at most (characters for string input). Default 4 MiB. */
  maxBytes?: number;
  /** Lines per side at most. Default 100 000. */
  maxLines?: number;
  /** Myers: edits (added + removed lines) at most before falling back. Default 1000. */
  maxEdits?: number;
  /** Myers: line comparisons at most before falling back. Default 20 million. */
  maxWork?: number;
  /** Lines returned per side at most; the counts stay exact. Default 1000. */
  maxShown?: number;
  /** Each returned line is cut to this many characters. Default 1000. */
  maxLineChars?: number;
}

/** One added or removed line. */
export interface DiffLine {
  /** 1-based line number: in the old text for removed lines, in the new one for added lines. */
  line: number;
  text: string;
}

/** The outcome of a line diff. */
export type LineDiff =
  | { status: "binary" }
  | { status: "too_large"; message: string }
  | {
    status: "diff";
    /** `myers`: a shortest edit script; `multiset`: lines whose count changed (order ignored). */
    method: "myers" | "multiset";
    added: DiffLine[];
    removed: DiffLine[];
    addedCount: number;
    removedCount: number;
    /** True when more lines changed than are returned. */
    truncated: boolean;
  };

const DEFAULTS: Required<LineDiffOptions> = {
  maxBytes: 4 * 1024 * 1024,
  maxLines: 100_000,
  maxEdits: 1000,
  maxWork: 20_000_000,
  maxShown: 1000,
  maxLineChars: 1000,
};

/** `opts` over the defaults; negative or non-numeric values are ignored. */
function withDefaults(opts: LineDiffOptions): Required<LineDiffOptions> {
  const o = { ...DEFAULTS };
  for (const [k, v] of Object.entries(opts)) {
    if (typeof v === "number" && v >= 0) o[k as keyof LineDiffOptions] = Math.floor(v);
  }
  return o;
}

/** Share of undecodable characters above which text counts as binary. */
const BINARY_SHARE = 0.1;

/** Decodes bytes as UTF-8 without throwing; invalid sequences become U+FFFD. */
function decode(data: Uint8Array | string): string {
  return typeof data === "string" ? data : new TextDecoder("utf-8").decode(data);
}

/** True for content a line diff makes no sense on: a NUL byte, or over 10% invalid UTF-8. */
export function isBinary(data: Uint8Array | string): boolean {
  if (typeof data === "string" ? data.includes("\0") : data.includes(0)) return true;
  const text = decode(data);
  if (text.length === 0) return false;
  let bad = 0;
  for (let i = text.indexOf("\uFFFD"); i >= 0; i = text.indexOf("\uFFFD", i + 1)) bad++;
  return bad / text.length > BINARY_SHARE;
}

/** Splits text into lines: `\n` ends a line, a trailing `\r` is dropped, a final newline adds no empty line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
}

/**
 * Myers' greedy forward search on `a` and `b` (line ids), keeping each
 * round's frontier for the walk back: memory O(D²), time O((N+M)·D).
 * Undefined when the edit count passes `maxEdits` or the work `maxWork`.
 */
function myers(
  a: Int32Array,
  b: Int32Array,
  maxEdits: number,
  maxWork: number,
): { removed: number[]; added: number[] } | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let work = 0;
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d, off + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])
        ? v[off + k + 1]
        : v[off + k - 1] + 1;
      let y = x - k;
      const snakeFrom = x;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      work += 1 + x - snakeFrom;
      v[off + k] = x;
      if (x >= n && y >= m) return walkBack(trace, d, n, m);
    }
    if (work > maxWork) return undefined;
  }
  return undefined;
}

/** Follows the saved frontiers from (n, m) back to (0, 0), collecting the edits. */
function walkBack(
  trace: Int32Array[],
  dEnd: number,
  n: number,
  m: number,
): { removed: number[]; added: number[] } {
  const removed: number[] = [];
  const added: number[] = [];
  let x = n;
  let y = m;
  for (let d = dEnd; d > 0; d--) {
    const prev = trace[d]; // frontier after round d-1, indexed k + d
    const at = (k: number) => prev[k + d];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    // Equal lines (the snake) are skipped; only the edit that led here is recorded.
    if (down) added.push(prevY);
    else removed.push(prevX);
    x = prevX;
    y = prevY;
  }
  return { removed: removed.reverse(), added: added.reverse() };
}

/** Lines whose count changed (indexes into `a` and `b`): the linear fallback. */
function multiset(a: Int32Array, b: Int32Array): { removed: number[]; added: number[] } {
  const d = multisetDiff(
    Array.from(a, (_, i) => i),
    Array.from(b, (_, i) => -1 - i),
    (i) => String(i < 0 ? b[-1 - i] : a[i]),
  );
  return { removed: d.removed, added: d.added.map((i) => -1 - i) };
}

/**
 * The lines added and removed from `before` to `after`, within the limits
 * of `opts`. Never throws; bytes are decoded as UTF-8.
 */
export function diffLines(
  before: Uint8Array | string,
  after: Uint8Array | string,
  opts: LineDiffOptions = {},
): LineDiff {
  const o = withDefaults(opts);
  for (const side of [before, after]) {
    if (side.length > o.maxBytes) {
      return { status: "too_large", message: `more than ${o.maxBytes} bytes: not diffed` };
    }
  }
  if (isBinary(before) || isBinary(after)) return { status: "binary" };
  return diffLineLists(splitLines(decode(before)), splitLines(decode(after)), o);
}

/**
 * The lines added and removed from `linesA` to `linesB` (already split), in
 * order: a moved line is removed where it was and added where it is. Within
 * the line limits of `opts`; never throws.
 */
export function diffLineLists(
  linesA: string[],
  linesB: string[],
  opts: LineDiffOptions = {},
): LineDiff {
  const o = withDefaults(opts);
  if (linesA.length > o.maxLines || linesB.length > o.maxLines) {
    return { status: "too_large", message: `more than ${o.maxLines} lines: not diffed` };
  }
  // The common head and tail are cut off on the lines themselves: only the middle, usually a
  // line or two of a long file, is interned (a Map lookup a line was most of a diff's time).
  const n = linesA.length, m = linesB.length;
  let head = 0;
  while (head < n && head < m && linesA[head] === linesB[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && linesA[n - 1 - tail] === linesB[m - 1 - tail]) {
    tail++;
  }
  const ids = new Map<string, number>();
  const intern = (lines: string[]) =>
    Int32Array.from(lines.slice(head, lines.length - tail), (l) => {
      let id = ids.get(l);
      if (id === undefined) ids.set(l, id = ids.size);
      return id;
    });
  const midA = intern(linesA);
  const midB = intern(linesB);
  let method: "myers" | "multiset" = "myers";
  let edits = myers(midA, midB, o.maxEdits, o.maxWork);
  if (!edits) {
    method = "multiset";
    edits = multiset(midA, midB);
  }
  const show = (idx: number[], lines: string[]): DiffLine[] =>
    idx.slice(0, o.maxShown).map((i) => {
      const text = lines[head + i];
      return {
        line: head + i + 1,
        text: text.length > o.maxLineChars ? text.slice(0, o.maxLineChars) + "…" : text,
      };
    });
  return {
    status: "diff",
    method,
    added: show(edits.added, linesB),
    removed: show(edits.removed, linesA),
    addedCount: edits.added.length,
    removedCount: edits.removed.length,
    truncated: edits.added.length > o.maxShown || edits.removed.length > o.maxShown,
  };
}

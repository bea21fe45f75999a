/**
 * The one result shape every parser returns: what parsed, and what did not,
 * by line. Parsers never throw on bad input.
 *
 * @module
 */

/** A line that did not parse. */
export interface ParseError {
  /** 1-based line number. */
  line: number;
  message: string;
  /** The file, for parsers that follow includes. */
  file?: string;
}

/** Entries and errors. */
export interface ParseResult<T> {
  entries: T[];
  errors: ParseError[];
}

/** Lines longer than this are reported and skipped (no real entry is this long). */
export const MAX_LINE_CHARS = 64 * 1024;
/** At most this many lines are read from one file. */
export const MAX_LINES = 1_000_000;
/** At most this many errors are kept per file. */
export const MAX_ERRORS = 1000;

/** Splits text into numbered lines within the limits, reporting what was cut. */
export function numberedLines(
  text: string,
  errors: ParseError[],
): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    n++;
    if (n > MAX_LINES) {
      pushError(errors, { line: n, message: `more than ${MAX_LINES} lines: the rest is ignored` });
      break;
    }
    const raw = text.slice(start, end);
    if (raw.length > MAX_LINE_CHARS) {
      pushError(errors, {
        line: n,
        message: `line longer than ${MAX_LINE_CHARS} characters: ignored`,
      });
    } else out.push({ line: n, text: raw.endsWith("\r") ? raw.slice(0, -1) : raw });
    start = end + 1;
  }
  return out;
}

/** Adds an error unless the cap is reached. */
export function pushError(errors: ParseError[], e: ParseError): void {
  if (errors.length < MAX_ERRORS) errors.push(e);
}

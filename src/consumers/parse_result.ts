/**
 * The one result shape every parser returns: what parsed, and what did not,
 * by line. Parsers never throw on bad input, and they bound what they read:
 * characters per file, characters per line, lines per file, errors kept.
 *
 * Error messages never quote the input: a malformed shadow line may hold a
 * hash, so messages name the line and the problem only.
 *
 * Only the total size is capped. Lines are not: every parser is linear, and
 * a cap on line length or line count would be a blind spot (an account
 * after a million blank lines, or a rule after a 70k-character comment,
 * still counts for the C library and sudo).
 *
 * @module
 */

/** A line that did not parse. */
export interface ParseError {
  /** 1-based line number (of the first physical line, for continued lines). */
  line: number;
  /** What is wrong, without quoting the line. */
  message: string;
  /** The file, for parsers that follow includes. */
  file?: string;
}

/** Entries and errors: the shape of every parser's result. */
export interface ParseResult<T> {
  entries: T[];
  errors: ParseError[];
}

/**
 * Bytes of a file a consumer is handed at most (the pipeline hashes larger
 * files only, and says their meaning is not checked). Every parser and
 * include reader takes at least this much: one that cut a file it was
 * handed would miss what its end holds, without a word but a log line (a
 * sudoers padded to 5 MiB hid the NOPASSWD rule after 4 MiB).
 */
export const MAX_PARSE_BYTES = 8 << 20;

/** Characters read at most from one file (at least {@link MAX_PARSE_BYTES}); the rest is reported and ignored. */
export const MAX_TEXT_CHARS = 16 * 1024 * 1024;
/** At most this many errors are kept per parse; the last one says how many were dropped. */
export const MAX_ERRORS = 1000;

/** One physical line and its 1-based number. */
export interface NumberedLine {
  line: number;
  text: string;
}

/**
 * `text` up to `MAX_TEXT_CHARS`, cut at a line end (a cut line could read as
 * another entry); the cut is reported in `errors`.
 */
export function capText(text: string, errors: ParseError[]): string {
  if (text.length <= MAX_TEXT_CHARS) return text;
  pushError(errors, {
    line: 0,
    message: `file longer than ${MAX_TEXT_CHARS} characters: the rest is ignored`,
  });
  return text.slice(0, Math.max(0, text.lastIndexOf("\n", MAX_TEXT_CHARS)));
}

/**
 * Yields the numbered lines of `text` (lazily: a file of 16 million empty
 * lines costs no memory). A trailing `\r` is removed (CRLF files); the empty
 * piece after a final newline is not a line. Text beyond `MAX_TEXT_CHARS`
 * is reported and ignored, cut at a line end.
 */
export function* numberedLines(text: string, errors: ParseError[]): Generator<NumberedLine> {
  const body = capText(text, errors);
  let n = 0;
  for (let start = 0; start < body.length;) {
    let end = body.indexOf("\n", start);
    if (end < 0) end = body.length;
    const raw = body.slice(start, end);
    yield { line: ++n, text: raw.endsWith("\r") ? raw.slice(0, -1) : raw };
    start = end + 1;
  }
}

/** Adds an error unless the cap is reached; the error at the cap says so. */
export function pushError(errors: ParseError[], e: ParseError): void {
  if (errors.length < MAX_ERRORS - 1) errors.push(e);
  else if (errors.length === MAX_ERRORS - 1) {
    errors.push({
      line: e.line,
      ...(e.file !== undefined ? { file: e.file } : {}),
      message: "too many errors: the rest are dropped",
    });
  }
}

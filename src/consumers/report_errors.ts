/**
 * Reports a parser's malformed lines as warnings with file and line number.
 *
 * @module
 */
import type { ParseError } from "./parse_result.ts";
import type { ConsumerContext } from "./consumer.ts";

/** At most this many lines are reported per parse; the rest are counted. */
const MAX_REPORTED = 20;

/** Warns about each error as `FILE:LINE: message`. */
export function reportErrors(path: string, errors: ParseError[], ctx: ConsumerContext): void {
  for (const e of errors.slice(0, MAX_REPORTED)) {
    ctx.warn(`${e.file ?? path}:${e.line}: ${e.message}`);
  }
  if (errors.length > MAX_REPORTED) {
    ctx.warn(`${path}: ${errors.length - MAX_REPORTED} more malformed lines`);
  }
}

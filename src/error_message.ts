/**
 * The text of a caught value, for the one-sentence messages bpfink prints.
 *
 * @module
 */

/** `e`'s message when it is an `Error`, else `e` as a string. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * How the xattr digests in a database's attrs were made. An older bpfink
 * kept each value's bare sha256; bpfink now keys it (extra_attrs.ts). A
 * database without the meta value `attrs_digest` holds the old ones: its
 * attrs are compared by all but their digests (which cannot compare), and
 * recorded again keyed, silently, by the next start's read
 * (startup_baseline.ts), which then sets the meta value.
 *
 * @module
 */
import type { FileState } from "../watch/file_state.ts";
import { rekeyedText } from "../watch/extra_attrs.ts";
import { type BaselineRecord, stateOfRecord } from "./baseline_store.ts";

/** The meta key that says how the digests of the store's attrs were made. */
export const ATTRS_DIGEST_META = "attrs_digest";
/** Its value once they are keyed. */
export const ATTRS_DIGEST_KEYED = "hmac-sha256-v1";

/** Whether a store holding `records` records, with meta `meta`, may hold unkeyed digests. */
export function digestsUnkeyed(
  meta: (key: string) => string | undefined,
  records: number,
): boolean {
  return records > 0 && meta(ATTRS_DIGEST_META) !== ATTRS_DIGEST_KEYED;
}

/**
 * The state record `rec` describes, to compare with `now`: with `unkeyed`,
 * its attrs' digests are `now`'s where the names are the same.
 */
export function recordedState(
  rec: BaselineRecord,
  now: FileState | undefined,
  unkeyed: boolean,
): FileState {
  const before = stateOfRecord(rec);
  if (unkeyed && before.attrs !== undefined && now?.attrs !== undefined) {
    before.attrs = rekeyedText(before.attrs, now.attrs);
  }
  return before;
}

/**
 * Records the pipeline and the store take, made for tests: a file change and
 * a baseline row, with every field a test does not care about filled in.
 *
 * @module
 */
import type { FileChange } from "../src/pipeline/file_change.ts";
import type { BaselineRecord } from "../src/store/baseline_store.ts";

/** A live change of file `path` from `before` to `after`. */
export function fileChange(
  path: string,
  action: FileChange["action"],
  before?: FileChange["before"],
  after?: FileChange["after"],
): FileChange {
  return { action, path, kind: "file", root: path, before, after, folded: 0, reason: "live" };
}

/** A generic file's baseline row for `path`, with `over` on top. */
export function baselineRecord(path: string, over: Partial<BaselineRecord> = {}): BaselineRecord {
  return {
    path,
    consumer: "generic",
    dev: 1,
    ino: "2",
    size: 3,
    mode: 0o100644,
    uid: 0,
    gid: 0,
    mtimeMs: 1_700_000_000_123,
    ...over,
  };
}

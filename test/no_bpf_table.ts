/**
 * A kernel watch table that keeps nothing: for tests of the watch set and what
 * reads it, where the BPF maps are not the subject.
 *
 * @module
 */
import type { KernelWatchTable } from "../src/watch/watch_set.ts";

/** Accepts every watch and keeps none. */
export const NO_BPF: KernelWatchTable = {
  watchInode() {},
  unwatchInode() {},
  watchEntry() {},
  unwatchEntry() {},
  watchDirPath() {},
  unwatchDirPath() {},
  watchBasename() {},
  unwatchBasename() {},
};

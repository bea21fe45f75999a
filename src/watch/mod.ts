/**
 * The one owner of the live tree: watch targets, inode keys, the watch set
 * (directory inodes → entries, mirrored into the kernel's maps), file state
 * read safely, and the monitor that turns kernel events into file changes
 * and names the process that made them.
 *
 * @module
 */
export { resolveTargets, type WatchTarget } from "./watch_targets.ts";
export { WatchSet } from "./watch_set.ts";
export { type FileState, readFileState } from "./file_state.ts";
export { classify, FileMonitor } from "./file_monitor.ts";
export { EarlyWatch } from "./early_watch.ts";

/**
 * Ground truth for the real-workload suite: a snapshot of a tree (every
 * entry's type, inode, mode, owner, content hash or link target), taken with
 * lstat and never following links, and the difference between two of them.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** One entry of a tree, as the file system holds it. */
export interface EntryTruth {
  type: "file" | "dir" | "symlink" | "fifo" | "socket" | "device";
  ino: number;
  /** Birth time (statx btime, ms) where the file system keeps one: tells a file from a new one that reuses its inode number. */
  born?: number;
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of a regular file's content. */
  sha256?: string;
  /** A symlink's target. */
  target?: string;
}

/** Path → entry, for every entry below (and including) a root. */
export type Snapshot = Map<string, EntryTruth>;

/** How one path differs between two snapshots. */
export type TruthChange =
  | "created"
  | "deleted"
  | "content"
  | "replaced"
  | "attributes"
  | "retargeted"
  | "type";

/** Every path that differs, with how. */
export type TruthDiff = Map<string, TruthChange>;

function typeOf(i: Deno.FileInfo): EntryTruth["type"] {
  if (i.isSymlink) return "symlink";
  if (i.isDirectory) return "dir";
  if (i.isFile) return "file";
  if (i.isFifo) return "fifo";
  if (i.isSocket) return "socket";
  return "device";
}

/** Snapshots `root` and everything below it. */
export async function snapshot(root: string): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  const visit = async (path: string) => {
    const i = await Deno.lstat(path);
    const e: EntryTruth = {
      type: typeOf(i),
      ino: i.ino ?? 0,
      ...(i.birthtime ? { born: i.birthtime.getTime() } : {}),
      mode: (i.mode ?? 0) & 0o7777,
      uid: i.uid ?? 0,
      gid: i.gid ?? 0,
    };
    if (e.type === "file") {
      e.sha256 = createHash("sha256").update(await Deno.readFile(path)).digest("hex");
    } else if (e.type === "symlink") {
      e.target = await Deno.readLink(path);
    }
    snap.set(path, e);
    if (e.type === "dir") {
      for await (const d of Deno.readDir(path)) await visit(`${path}/${d.name}`);
    }
  };
  await visit(root);
  return snap;
}

/** What changed from `before` to `after`; directories count only when created, deleted or re-moded. */
export function diffSnapshots(before: Snapshot, after: Snapshot): TruthDiff {
  const diff: TruthDiff = new Map();
  for (const [path, a] of after) {
    const b = before.get(path);
    if (!b) diff.set(path, "created");
    else if (b.type !== a.type) diff.set(path, "type");
    else if (a.type === "symlink" && a.target !== b.target) diff.set(path, "retargeted");
    // A new file may reuse a removed one's inode number (rm -rf, then made again): its
    // birth time tells it apart.
    else if ((b.ino !== a.ino || b.born !== a.born) && a.type !== "dir") {
      diff.set(path, "replaced");
    } else if (a.sha256 !== b.sha256) diff.set(path, "content");
    else if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) {
      diff.set(path, "attributes");
    }
  }
  for (const path of before.keys()) if (!after.has(path)) diff.set(path, "deleted");
  return diff;
}

/**
 * Which processes hold a file mapped shared and writable right now. A
 * mapping outlives the process that made it: a child forked after the mmap
 * inherits it and can write through it with no syscall at all. So a mapped
 * file is followed per mapping (while any process still holds one), not per
 * the process id that made it.
 *
 * @module
 */
import type { InodeId } from "./inode_key.ts";

/** Whether one /proc/PID/maps line is a shared writable mapping of inode `id`. */
export function mapsLineHolds(line: string, id: InodeId): boolean {
  // address perms offset dev inode [path]; dev is MAJOR:MINOR in hex.
  const f = line.split(/\s+/, 5);
  if (f.length < 5 || f[1].length < 4 || f[1][1] !== "w" || f[1][3] !== "s") return false;
  const dev = /^([0-9a-f]+):([0-9a-f]+)$/.exec(f[3]);
  if (!dev || !/^\d+$/.test(f[4]) || BigInt(f[4]) !== id.ino) return false;
  return parseInt(dev[1], 16) === id.dev >>> 20 && parseInt(dev[2], 16) === (id.dev & 0xfffff);
}

/** Process ids (other than this one) that map inode `id` shared and writable. */
export function mappingHolders(id: InodeId): number[] {
  const holders: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return holders;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (pid === Deno.pid) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/maps`);
    } catch {
      continue; // exited, or a kernel thread
    }
    if (text.split("\n").some((l) => mapsLineHolds(l, id))) holders.push(pid);
  }
  return holders;
}

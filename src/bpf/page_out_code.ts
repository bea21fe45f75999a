/**
 * Hands back the code pages that starting touched and running does not use.
 * Starting runs code that never runs again: the runtime's module loader and
 * TypeScript transpiler, libbpf's object loader, the kernel-fact probes. Their
 * pages are clean and file-backed, yet they stay mapped, and counted in the
 * process's resident size, until the kernel runs short of memory (the idle
 * `--paths` agent held 43 MiB of Deno's binary this way, of 68 MiB RSS).
 * `madvise(MADV_PAGEOUT)` over the read-only file mappings reclaims them now;
 * a page that is used again faults back in from the file, so what stays
 * resident is the running agent's own working set. The kernel leaves alone a
 * page that another process maps too, and writable, anonymous and shared
 * mappings (the heap, the ring buffer, a memfd) are never advised.
 *
 * Best effort: before Linux 5.4 (no `MADV_PAGEOUT`), or without glibc,
 * nothing happens.
 *
 * @module
 */
import { Errno } from "../errno.ts";
import { lazyLibc } from "../libc.ts";

const MADV_PAGEOUT = 21;

const { libc, errno } = lazyLibc({
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
});

/** One mapping of /proc/self/maps that may be paged out. */
export interface CodeMapping {
  start: bigint;
  end: bigint;
  path: string;
}

/**
 * The read-only, private, file-backed mappings in a /proc/PID/maps text: a
 * binary's or a library's code and constants. Anything writable, shared,
 * anonymous or not backed by a file on disk (`[heap]`, `anon_inode:`,
 * `/memfd:`, a deleted file) is left out.
 */
export function codeMappings(maps: string): CodeMapping[] {
  const out: CodeMapping[] = [];
  for (const line of maps.split("\n")) {
    // start-end perms offset dev inode path
    const m = /^([0-9a-f]+)-([0-9a-f]+) (r-xp|r--p) [0-9a-f]+ \S+ (\d+)\s+(\/.*)$/.exec(line);
    if (!m || m[4] === "0") continue;
    const path = m[5];
    if (path.startsWith("/memfd:") || path.endsWith(" (deleted)")) continue;
    out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), path });
  }
  return out;
}

/**
 * Advises the kernel to page out this process's read-only file mappings
 * (`codeMappings`). Returns the bytes of address space advised, or 0 where
 * the advice is not available.
 */
export function pageOutCode(maps?: CodeMapping[]): number {
  let list: CodeMapping[];
  try {
    list = maps ?? codeMappings(Deno.readTextFileSync("/proc/self/maps"));
  } catch {
    return 0;
  }
  let advised = 0;
  for (const { start, end } of list) {
    let r: number;
    try {
      r = libc().madvise(Deno.UnsafePointer.create(start), end - start, MADV_PAGEOUT);
    } catch {
      return advised; // no libc to call
    }
    if (r === 0) advised += Number(end - start);
    else if (errno() === Errno.EINVAL) return advised; // the kernel has no MADV_PAGEOUT
    // ENOMEM: unmapped since the maps were read; the rest still get the advice
  }
  return advised;
}

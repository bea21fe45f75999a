/**
 * A file's dirty pages in the page cache, by cachestat(2) (Linux 6.5+).
 *
 * @module
 */

import { assert } from "./assert.ts";

const SYS_CACHESTAT = 451;

/** The dirty pages of `path`, or undefined where the kernel lacks cachestat(2). */
export function dirtyPages(path: string): number | undefined {
  const lib = Deno.dlopen("libc.so.6", {
    open: { parameters: ["buffer", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
    syscall: { parameters: ["i64", "i32", "buffer", "buffer", "u32"], result: "i64" },
  });
  const fd = lib.symbols.open(new TextEncoder().encode(`${path}\0`), 0);
  try {
    assert(fd >= 0, `cannot open ${path}`);
    // struct cachestat_range { u64 off, len } (len 0: to the end of the file); struct
    // cachestat { u64 nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted }.
    const range = new BigUint64Array(2);
    const stat = new BigUint64Array(5);
    const r = lib.symbols.syscall(BigInt(SYS_CACHESTAT), fd, range, stat, 0);
    return r < 0 ? undefined : Number(stat[1]);
  } finally {
    if (fd >= 0) lib.symbols.close(fd);
    lib.close();
  }
}

import { assert } from "../../test/assert.ts";
import { FIM_INODE_EVENT_SIZE, FIM_SHORT_NAME } from "../kernel/fim_event.ts";
import { ringBytesFor } from "./open_kernel.ts";

Deno.test("the ring buffer holds an inode event and a short name event for every watched file at once", () => {
  // Each record is its event and an 8-byte header; a rewrite sends an inode event, a
  // rename over the file a short name event.
  const perFile = FIM_INODE_EVENT_SIZE + 8 + FIM_INODE_EVENT_SIZE + FIM_SHORT_NAME + 8;
  for (const n of [1, 1285, 3000, 10_000, 100_000, 1_000_000]) {
    const bytes = ringBytesFor(n);
    assert(bytes >= n * perFile + 512 * 1024, `${n} files: ${bytes} bytes`);
    assert((bytes & (bytes - 1)) === 0 && bytes >= 4096, `${n} files: ${bytes} is no ring size`);
  }
});

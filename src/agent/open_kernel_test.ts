import { assert, assertEquals } from "../../test/assert.ts";
import { ringRecordBytes } from "../kernel/fim_event.ts";
import { RING_SIZED_FOR, ringBytesFor } from "./open_kernel.ts";

Deno.test("the ring buffer holds an inode event and a name event for every watched file at once", () => {
  // A rewrite sends an inode event, a rename over the file a name event; each takes its
  // executable's name and its entry's name, and an 8-byte header.
  const { exe, name } = RING_SIZED_FOR;
  const perFile = ringRecordBytes(exe, 0) + ringRecordBytes(exe, name);
  for (const n of [1, 1285, 3000, 10_000, 100_000, 1_000_000]) {
    const bytes = ringBytesFor(n);
    assert(bytes >= n * perFile + 512 * 1024, `${n} files: ${bytes} bytes`);
    assert((bytes & (bytes - 1)) === 0 && bytes >= 4096, `${n} files: ${bytes} is no ring size`);
    assert(
      bytes < 2 * (n * perFile + 512 * 1024) || bytes === 1 << 20,
      `${n} files: ${bytes} is twice what they need`,
    );
  }
});

Deno.test("a ring buffer record is its event's head, executable and name, 8-byte aligned, and a header", () => {
  assertEquals(ringRecordBytes(0, 0), 8 + 96);
  assertEquals(ringRecordBytes(4, 0), 8 + 104);
  assertEquals(ringRecordBytes(16, 64), 8 + 176);
  assertEquals(ringRecordBytes(63, 255), 8 + 416);
});

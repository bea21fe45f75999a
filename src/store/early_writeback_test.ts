import { assert } from "../../test/assert.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { dirtyPages } from "../../test/dirty_pages.ts";
import { EarlyWriteback } from "./early_writeback.ts";

Deno.test("early writeback: a file's dirty pages go to disk with no fsync, and a closed one sends none", async () => {
  await using d = await tempDir("bpfink-writeback-", "/var/tmp");
  const path = `${d.path}/db`;
  const dirty = async () => {
    await Deno.writeFile(path, new Uint8Array(32 << 20).fill(7));
    return dirtyPages(path);
  };
  if (await dirty() === undefined) return; // no cachestat(2) before 6.5: nothing to observe
  // Closed first: the kick sends nothing, and the pages stay dirty (the kernel's own writeback
  // waits 30 s for pages this young).
  const closed = EarlyWriteback.open(path)!;
  closed.close();
  closed.kick();
  await new Promise((r) => setTimeout(r, 300));
  const left = dirtyPages(path)!;
  assert(left > 4000, `${left} dirty pages 0.3 s after writing 32 MiB with no writeback`);
  const w = EarlyWriteback.open(path)!;
  try {
    w.kick();
    assert(await waitFor(() => dirtyPages(path) === 0, 5000), `${dirtyPages(path)} still dirty`);
  } finally {
    w.close();
  }
});

import { assert, assertEquals } from "../../test/assert.ts";
import { readFileState } from "./file_state.ts";
import { ParallelReader, type ReadResult } from "./parallel_reader.ts";
import { FanMask, FILE_MASK, InfoType } from "../fanotify/fanotify_abi.ts";
import { FanotifyGroup, markKey } from "../fanotify/fanotify_group.ts";
import { parseFanotify } from "../fanotify/fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";

/** Without the parts two reads of one unchanged file may not share. */
function comparable(r: ReadResult): unknown {
  return r && "error" in r ? r : r && { ...r, content: r.content && [...r.content] };
}

Deno.test("parallel reader: workers only for a large tree", () => {
  for (
    const [files, workers] of [[10, 0], [1_000_000, Math.min(2, navigator.hardwareConcurrency)]]
  ) {
    const r = ParallelReader.for(files);
    assertEquals(r.workers, workers, `${files} files`);
    r.close();
  }
});

for (const workers of [2, 0]) {
  Deno.test(`parallel reader (${workers} workers): the states readFileState gives, in order`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "bpfink-reader-" });
    const reader = new ParallelReader(workers);
    try {
      assertEquals(reader.workers, workers);
      const items = [];
      for (let i = 0; i < 300; i++) {
        const path = `${dir}/f${i}`;
        await Deno.writeTextFile(path, "x".repeat(i));
        items.push({ path, keepContentUpTo: i % 3 === 0 ? 1 << 20 : i % 3 === 1 ? 100 : 0 });
      }
      await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
      await Deno.symlink(`${dir}/f1`, `${dir}/link`);
      items.push(
        { path: `${dir}/missing`, keepContentUpTo: 10 },
        { path: `${dir}/fifo`, keepContentUpTo: 10 },
        { path: `${dir}/link`, keepContentUpTo: 10 },
      );
      const { results: got, marks } = await reader.read(items);
      assertEquals(marks, undefined, "marks without being asked to mark");
      assertEquals(got.length, items.length);
      for (const [i, t] of items.entries()) {
        const want = await readFileState(t.path, t.keepContentUpTo);
        assertEquals(comparable(got[i]), comparable(want), t.path);
      }
      // Content only up to the size asked for; the hash always.
      const f5 = got[5] as { content?: Uint8Array; sha256?: string };
      assert(f5.sha256 && !f5.content, "f5: 5 bytes, none wanted");
      assertEquals((got[3] as { content?: Uint8Array }).content?.length, 3);
      assertEquals(got[items.length - 3], undefined);
      const fifo = got[items.length - 2] as { type?: string; sha256?: string };
      assert(fifo.type === "fifo" && !fifo.sha256, "a FIFO is described, never read");
    } finally {
      reader.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const workers of [2, 0]) {
  Deno.test(`parallel reader (${workers} workers): marks each regular file it reads, the mark the group would place`, async () => {
    await using dir = await tempDir();
    const group = FanotifyGroup.open();
    const reader = new ParallelReader(workers);
    const written = new Set<string>();
    try {
      const items = [];
      for (let i = 0; i < 40; i++) {
        await Deno.writeTextFile(`${dir.path}/f${i}`, `${i}\n`);
        items.push({ path: `${dir.path}/f${i}`, keepContentUpTo: 0 });
      }
      await new Deno.Command("mkfifo", { args: [`${dir.path}/fifo`] }).output();
      await Deno.symlink(`${dir.path}/f1`, `${dir.path}/link`);
      await Deno.mkdir(`${dir.path}/sub`);
      for (const p of ["fifo", "link", "sub", "missing"]) {
        items.push({ path: `${dir.path}/${p}`, keepContentUpTo: 0 });
      }
      const { results, marks } = await reader.read(items, { group: group.fd, mask: FILE_MASK });
      assertEquals(marks?.length, items.length);
      group.start((bytes) => {
        for (const e of parseFanotify(bytes).events) {
          if (!(e.mask & FanMask.MODIFY)) continue;
          const key = e.fids.find((f) => f.infoType === InfoType.FID)?.key;
          if (key) written.add(key);
        }
      });
      for (const [i, t] of items.entries()) {
        const r = results[i];
        if (i >= 40) {
          assertEquals(marks![i], undefined, `${t.path} is no regular file, and is not marked`);
          continue;
        }
        assert(r && !("error" in r), t.path);
        // The same handle as the group's own mark by path (which checks the inode).
        const byPath = group.mark(t.path, r.id, FILE_MASK);
        assertEquals(marks![i], byPath, t.path);
      }
      // The mark is in place: a write to a file read (and not marked again) is reported.
      const g = await FanotifyGroup.open();
      try {
        const { marks: only } = await reader.read([items[7]], { group: g.fd, mask: FILE_MASK });
        const seen: string[] = [];
        g.start((bytes) => {
          for (const e of parseFanotify(bytes).events) {
            if (e.mask & FanMask.MODIFY) {
              seen.push(e.fids.find((f) => f.infoType === InfoType.FID)!.key);
            }
          }
        });
        await Deno.writeTextFile(items[7].path, "changed\n");
        assert(await waitFor(() => seen.length > 0), "no event: the reader's mark is not in place");
        assertEquals(seen[0], markKey(only![0]!));
      } finally {
        await g.close();
      }
    } finally {
      reader.close();
      await group.close();
    }
  });
}

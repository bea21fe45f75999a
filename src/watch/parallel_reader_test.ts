import { assert, assertEquals } from "../../test/assert.ts";
import { readFileState } from "./file_state.ts";
import { ParallelReader, type ReadResult, workersFor } from "./parallel_reader.ts";

/** Without the parts two reads of one unchanged file may not share. */
function comparable(r: ReadResult): unknown {
  return r && "error" in r ? r : r && { ...r, content: r.content && [...r.content] };
}

Deno.test("parallel reader: a core kept for the main thread, one worker at least, two at most", () => {
  assertEquals([1, 2, 3, 4, 64].map(workersFor), [1, 1, 2, 2, 2]);
});

Deno.test("parallel reader: workers only for a large tree", () => {
  for (
    const [files, workers] of [[10, 0], [1_000_000, workersFor(navigator.hardwareConcurrency)]]
  ) {
    const r = ParallelReader.for(files);
    assertEquals(r.workers, workers, `${files} files`);
    r.close();
  }
});

for (
  const [workers, native, how] of [
    [2, undefined, "the native reader"],
    [2, null, "readFileState"],
    [0, undefined, "this thread"],
  ] as const
) {
  Deno.test(`parallel reader (${workers} workers, ${how}): the states readFileState gives, in order`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "bpfink-reader-" });
    const reader = new ParallelReader(workers, { native });
    try {
      assertEquals(reader.workers, workers);
      assertEquals(reader.native !== undefined, workers > 0 && native === undefined);
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
      const got = await reader.read(items);
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

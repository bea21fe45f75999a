import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { NO_BPF } from "../../test/no_bpf_table.ts";
import { BaselineStore } from "../store/baseline_store.ts";
import { ChangePipeline } from "../pipeline/change_pipeline.ts";
import { consumerContext } from "../consumers/consumer_context.ts";
import { WatchSet } from "../watch/watch_set.ts";
import type { WatchTarget } from "../watch/watch_targets.ts";
import type { FileState } from "../watch/file_state.ts";
import {
  FIRST_BASELINE_KEY,
  readStartupBaseline,
  type StartupPipeline,
} from "./startup_baseline.ts";

/** Enough files for the hashing workers to read them (parallel_reader.ts, WORKERS_FROM). */
const FILES = 2100;

/** The real pipeline over `store`, every file generic with line diffs. */
const genericPipeline = (store: BaselineStore) =>
  new ChangePipeline({
    store,
    hostname: "testhost",
    ctx: consumerContext(new Uint8Array(32).fill(7), () => {}),
    ruleFor: () => ({ consumer: "generic", secret: false, diffMaxBytes: 65536 }),
    deliver: () => {},
  });

Deno.test("a first baseline frees each window's kept contents once its states are recorded, and records the text", async () => {
  // The contents kept for line diffs arrive from the workers in one buffer a window: left to the
  // garbage collector they outlived the young collections, and at 100,000 files they were a
  // third of the start's peak RSS. Once recorded, nothing may read them: they are freed at once.
  await using dir = await tempDir();
  const targets: WatchTarget[] = [{ path: dir.path, kind: "dir", root: dir.path, recursive: true }];
  for (let i = 0; i < FILES; i++) {
    const path = `${dir.path}/f${i}.conf`;
    await Deno.writeTextFile(path, `line ${i}\n`.repeat(1 + i % 5));
    targets.push({ path, kind: "file", root: dir.path, type: "file" });
  }
  const store = BaselineStore.open(":memory:");
  try {
    const p = genericPipeline(store);
    // The real pipeline; the contents it was given are kept here to look at afterwards.
    const given: Uint8Array[] = [];
    const pipeline: StartupPipeline = {
      keyed: (path, state) => p.keyed(path, state),
      handle: (change) => p.handle(change),
      contentWanted: (path) => p.contentWanted(path),
      adoptMany: (items: [string, FileState | undefined][]) => {
        for (const [, s] of items) if (s?.content) given.push(s.content);
        p.adoptMany(items);
      },
    };
    const read = await readStartupBaseline(
      { watch: new WatchSet(NO_BPF), store, pipeline, baselined: () => {} },
      { targets, missing: [] },
    );
    assert(read.workers > 0, "the files were read by the hashing workers");
    assertEquals(given.length, FILES, "every file's content was kept for its line diff");
    const live = given.filter((c) => !(c.buffer as ArrayBuffer).detached);
    assertEquals(live.length, 0, `${live.length} contents still held after they were recorded`);
    const decoder = new TextDecoder();
    for (const i of [0, 1, 777, FILES - 1]) {
      const snap = store.get(`${dir.path}/f${i}.conf`)?.snapshot as Uint8Array;
      assertEquals(decoder.decode(snap), `line ${i}\n`.repeat(1 + i % 5), `f${i}.conf's text`);
    }
  } finally {
    store.close();
  }
});

Deno.test("a first baseline, or one taken again unfinished, skips the write-ahead log; a later start does not", async () => {
  await using dir = await tempDir();
  const targets: WatchTarget[] = [{ path: dir.path, kind: "dir", root: dir.path, recursive: true }];
  for (let i = 0; i < 3; i++) {
    const path = `${dir.path}/f${i}.conf`;
    await Deno.writeTextFile(path, `line ${i}\n`);
    targets.push({ path, kind: "file", root: dir.path, type: "file" });
  }
  const db = `${dir.path}.db/bpfink.db`;
  const start = async (prepare?: (s: BaselineStore) => void) => {
    const store = BaselineStore.open(db);
    const calls: string[] = [];
    try {
      prepare?.(store);
      const begin = store.beginBulk.bind(store);
      const end = store.endBulk.bind(store);
      store.beginBulk = () => (calls.push("begin"), begin());
      store.endBulk = () => (calls.push("end"), end());
      const p = genericPipeline(store);
      await readStartupBaseline(
        { watch: new WatchSet(NO_BPF), store, pipeline: p, baselined: () => {} },
        { targets, missing: [] },
      );
      assertEquals(store.meta(FIRST_BASELINE_KEY), undefined, "the first baseline is finished");
      return [...calls]; // close() ends a bulk too (a no-op here)
    } finally {
      store.close();
    }
  };
  try {
    assertEquals(await start(), ["begin", "end"], "the first baseline");
    assertEquals(await start(), [], "a start with a baseline");
    assertEquals(
      await start((s) => s.setMeta(FIRST_BASELINE_KEY, "2026-12-06T00:00:00Z")),
      ["begin", "end"],
      "a first baseline that did not finish, taken again",
    );
  } finally {
    await Deno.remove(`${dir.path}.db`, { recursive: true });
  }
});

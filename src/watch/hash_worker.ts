/**
 * The worker side of parallel_reader.ts: reads the states of the paths it is
 * sent (readFileState: lstat, open, stream through sha256), one after the
 * other with blocking reads on its own thread, and posts them back in order,
 * packed (read_batch.ts): typed arrays and content buffers, transferred, not
 * copied.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { readFileState } from "./file_state.ts";
import { type PackedItems, packResults, type ReadResult, unpackItems } from "./read_batch.ts";
import { errorMessage } from "../error_message.ts";

self.onmessage = async (m: MessageEvent<PackedItems>) => {
  const results: ReadResult[] = [];
  for (const { path, keepContentUpTo } of unpackItems(m.data)) {
    try {
      results.push(await readFileState(path, keepContentUpTo, { onThisThread: true }));
    } catch (e) {
      results.push({ error: errorMessage(e) });
    }
  }
  const { packed, transfer } = packResults(m.data.id, results);
  self.postMessage(packed, { transfer });
};

/**
 * The worker side of parallel_reader.ts: reads the states of the paths it is
 * sent (readFileState: lstat, open, stream through sha256), one after the
 * other with blocking reads on its own thread, and posts them back in order,
 * the content buffers transferred, not copied.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { readFileState } from "./file_state.ts";
import type { ReadRequest, ReadResult } from "./parallel_reader.ts";
import { errorMessage } from "../error_message.ts";

self.onmessage = async (m: MessageEvent<ReadRequest>) => {
  const { id, items } = m.data;
  const results: ReadResult[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const { path, keepContentUpTo } of items) {
    try {
      const s = await readFileState(path, keepContentUpTo, { onThisThread: true });
      if (s?.content) transfer.push(s.content.buffer as ArrayBuffer);
      results.push(s);
    } catch (e) {
      results.push({ error: errorMessage(e) });
    }
  }
  self.postMessage({ id, results }, { transfer });
};

/**
 * The worker side of parallel_reader.ts: reads the states of the paths it is
 * sent (readFileState: lstat, open, stream through sha256), one after the
 * other with blocking reads on its own thread, and posts them back in order,
 * the content buffers transferred, not copied. Asked to, it marks each
 * regular file for fanotify through the fd it reads it by, before reading
 * (open_file_mark.ts), and says what each mark was.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { type ReadRequest, readStates } from "./read_states.ts";

self.onmessage = async (m: MessageEvent<ReadRequest>) => {
  const { id, items, mark } = m.data;
  const batch = await readStates(items, mark, true);
  const transfer: ArrayBuffer[] = [];
  for (const s of batch.results) {
    if (s && "content" in s && s.content) transfer.push(s.content.buffer as ArrayBuffer);
  }
  self.postMessage({ id, ...batch }, { transfer });
};

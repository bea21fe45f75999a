/**
 * The worker side of parallel_reader.ts: reads the states of the paths it is
 * sent, one after the other with blocking reads on its own thread, and posts
 * them back in order, packed (read_batch.ts): typed arrays and content
 * buffers, transferred, not copied. The native reader (native_reader.ts),
 * when the main thread names one, reads the common case; readFileState()
 * (lstat, open, stream through sha256) reads the rest, and everything when
 * there is none.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { readFileState } from "./file_state.ts";
import { NativeReader } from "./native_reader.ts";
import { useXattrDigestKey } from "./extra_attrs.ts";
import {
  countItems,
  emptyResults,
  type PackedItems,
  packResult,
  transferOf,
  unpackItems,
} from "./read_batch.ts";
import { errorMessage } from "../error_message.ts";

/** The native reader, once the first window named it; null when it would not open. */
let native: NativeReader | null | undefined;

/** Windows are read one after the other: the native reader's buffers are one window's. */
let queue: Promise<void> = Promise.resolve();

self.onmessage = (m: MessageEvent<PackedItems>) => {
  // A window that fails is the worker's uncaught error, as it was when each message was read
  // at once (parallel_reader.ts's onerror reads its files on the main thread), and the chain
  // goes on: a rejected one would skip every later window without a word.
  queue = queue.then(() => readWindow(m)).catch((e) => {
    queueMicrotask(() => {
      throw e;
    });
  });
};

async function readWindow(m: MessageEvent<PackedItems>): Promise<void> {
  // The main thread's digests' key, before anything is read (extra_attrs.ts).
  if (m.data.attrsKey) useXattrDigestKey(m.data.attrsKey);
  if (native === undefined && m.data.native !== undefined) {
    const r = NativeReader.open(m.data.native);
    // The main thread opened it before naming it (parallel_reader.ts): should it fail here
    // all the same, every file is read the other way.
    native = r instanceof NativeReader ? r : null;
  }
  const out = emptyResults(m.data.id, countItems(m.data));
  const redo = await native?.read(m.data, out);
  const items = redo?.length === 0 ? [] : unpackItems(m.data);
  for (const i of redo ?? items.keys()) {
    const { path, keepContentUpTo } = items[i];
    try {
      packResult(out, i, await readFileState(path, keepContentUpTo, { onThisThread: true }));
    } catch (e) {
      packResult(out, i, { error: errorMessage(e) });
    }
  }
  self.postMessage(out, { transfer: transferOf(out) });
}

import { assert, assertEquals } from "../../test/assert.ts";
import { ReadAbortedError, readContent } from "./safe_read.ts";

async function sparseFile(size: number): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-safe-read-" });
  const path = `${dir}/sparse`;
  await Deno.writeTextFile(path, "x");
  await Deno.truncate(path, size);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a file over maxSize is not read: metadata only, and why", async () => {
  await using f = await sparseFile(1e12);
  const t0 = performance.now();
  const r = await readContent(f.path, 0, { maxSize: 1 << 30 });
  assert(performance.now() - t0 < 1000, "the read took its time");
  assertEquals(r.sha256, undefined);
  assertEquals(r.stat.size, 1e12);
  assert(r.incomplete?.includes("over the 1073741824-byte limit"), r.incomplete);
});

Deno.test("an aborted signal ends a read of holes at its next chunk", async () => {
  // 100 GB of holes: about a minute of hashing here, without the signal.
  await using f = await sparseFile(100e9);
  const abort = new AbortController();
  const t0 = performance.now();
  setTimeout(() => abort.abort(), 100);
  let error: unknown;
  const r = await readContent(f.path, 0, { signal: abort.signal, maxMs: 30_000, maxSize: Infinity })
    .catch((e) => {
      error = e;
    });
  const ms = performance.now() - t0;
  assert(error instanceof ReadAbortedError, `no abort: ${r ? r.incomplete : ""} after ${ms} ms`);
  assert(ms < 5000, `the read went on for ${ms.toFixed(0)} ms after the abort`);
});

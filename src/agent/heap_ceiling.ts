/**
 * A bound on the garbage the first baseline leaves in the JavaScript heap.
 * What outlives two young collections (a window read ahead, a hash table
 * that grew or churned) is freed only by a full collection, which V8 starts
 * once the old generation has about doubled since the last one: at 100,000
 * files, 50-70 MB of dead objects by the end of the read, the start's peak
 * RSS. check(), between windows, collects once the heap has grown a margin
 * past what the last collection left.
 *
 * It uses V8's own `gc()`, there when the process runs with
 * `--v8-flags=--expose-gc` (./bpfink, the launcher and the single file do):
 * one full collection, 25-45 ms at 100,000 files. Without it nothing is
 * collected: what node:vm gives instead (give_back_memory.ts) collects all
 * it can, two full collections or more a call, and cost the first baseline
 * a tenth more CPU.
 *
 * @module
 */
import v8 from "node:v8";

/** V8's full collection, when the process was started with --expose-gc. */
function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: (options?: { type: "major" }) => unknown }).gc;
  return typeof gc === "function" ? () => void gc({ type: "major" }) : undefined;
}

/** Collects garbage when the heap grew past a margin (see the module). */
export class HeapCeiling {
  #floor = v8.getHeapStatistics().used_heap_size;
  /** Full collections check() made. */
  collections = 0;

  /** `collect`: a full collection (default V8's, when exposed; none: check() does nothing). */
  constructor(readonly marginBytes: number, readonly collect = exposedGc()) {}

  /** Collects when the heap is `marginBytes` past what the last collection left. */
  check(): void {
    if (!this.collect) return;
    const used = v8.getHeapStatistics().used_heap_size;
    // A collection of V8's own since: what it left is the new floor.
    if (used < this.#floor) this.#floor = used;
    if (used - this.#floor < this.marginBytes) return;
    this.collect();
    this.collections++;
    this.#floor = v8.getHeapStatistics().used_heap_size;
  }
}

/**
 * For heap_ceiling_test.ts, in a process of its own: makes 2,000,000
 * objects that outlive the young generation (400 windows of them, each held
 * while the next eight are made, as the first baseline reads ahead), with a
 * HeapCeiling of 8 MB checked between windows, and prints
 * `{"collections": n, "grewMost": bytes}`: the most the heap grew past its
 * least.
 *
 * @module
 */
import v8 from "node:v8";
import { HeapCeiling } from "./heap_ceiling.ts";

const ceiling = new HeapCeiling(8 << 20);
const used = () => v8.getHeapStatistics().used_heap_size;
let least = used();
let grewMost = 0;
const held: { n: number; text: string }[][] = [];
for (let w = 0; w < 400; w++) {
  const window = [];
  for (let i = 0; i < 5000; i++) window.push({ n: i, text: `window ${w} item ${i}` });
  held.push(window);
  if (held.length > 8) held.shift();
  ceiling.check();
  const now = used();
  least = Math.min(least, now);
  grewMost = Math.max(grewMost, now - least);
}
console.log(JSON.stringify({ collections: ceiling.collections, grewMost }));

import v8 from "node:v8";
import { assert } from "../../test/assert.ts";
import { giveBackMemory } from "./give_back_memory.ts";

Deno.test("giveBackMemory collects the garbage that starting left behind", () => {
  let garbage: number[][] | undefined = Array.from(
    { length: 200 },
    () => new Array(50_000).fill(1.5),
  );
  const before = Deno.memoryUsage().heapUsed;
  garbage = undefined;
  giveBackMemory();
  const after = Deno.memoryUsage().heapUsed;
  assert(garbage === undefined);
  assert(before - after > 40 * 2 ** 20, `heap went from ${before} to ${after} bytes`);
});

const youngMiB = () =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_size / 2 ** 20;

Deno.test("giveBackMemory shrinks the young generation that a burst of short-lived objects grew", () => {
  // A flood of events makes short-lived objects: V8 grows its young generation for them.
  let keep: unknown[] = [];
  for (let i = 0; i < 2_000_000; i++) {
    keep.push({ i, s: `event ${i}` });
    if (keep.length > 20_000) keep = [];
  }
  const grown = youngMiB();
  assert(grown >= 8, `the burst grew the young generation to ${grown} MiB only: proves nothing`);
  giveBackMemory();
  const after = youngMiB();
  assert(
    after <= 2,
    `young generation: ${grown} MiB after the burst, ${after} MiB after giving back`,
  );
  assert(keep.length <= 20_001);
});

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

import { assertEquals } from "../../test/assert.ts";
import { FairQueue } from "./fair_queue.ts";

Deno.test("FairQueue: owners take turns, each owner's paths in the order they came", () => {
  const q = new FairQueue();
  for (let i = 0; i < 5000; i++) q.push(65534, `/shared/f${i}`);
  q.push(1, "/etc/alice_keys");
  q.push(0, "/etc/passwd");
  q.push(1, "/etc/alice_keys2");
  const first = [q.shift(), q.shift(), q.shift(), q.shift(), q.shift()];
  assertEquals(first, [
    "/shared/f0",
    "/etc/alice_keys",
    "/etc/passwd",
    "/shared/f1",
    "/etc/alice_keys2",
  ]);
  let n = 0;
  let last: string | undefined;
  for (let p = q.shift(); p !== undefined; p = q.shift()) {
    last = p;
    n++;
  }
  assertEquals([n, last, q.size], [4998, "/shared/f4999", 0]);
  q.push(3, "/x");
  assertEquals([q.shift(), q.shift()], ["/x", undefined]);
});

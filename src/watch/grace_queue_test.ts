import { assert, assertEquals } from "../../test/assert.ts";
import { GraceQueue } from "./grace_queue.ts";

Deno.test("GraceQueue: an event is fed once its grace has passed since its last read", async () => {
  const fed: string[] = [];
  const q = new GraceQueue<{ readAt: number }>(40, (k) => fed.push(k));
  q.hold("a", { readAt: performance.now() });
  await new Promise((r) => setTimeout(r, 25));
  q.get("a")!.readAt = performance.now(); // read again: its grace starts over
  q.hold("b", { readAt: performance.now() });
  assert(q.waiting);
  await new Promise((r) => setTimeout(r, 25));
  assertEquals(fed, [], "fed before a whole grace since its last read");
  await q.settled();
  assertEquals(fed.sort(), ["a", "b"]);
  assertEquals(q.get("a"), undefined);
  assert(!q.waiting);
});

Deno.test("GraceQueue: stop drops what is held, wakes who waits, and feeds nothing", async () => {
  const fed: string[] = [];
  const q = new GraceQueue<{ readAt: number }>(20, (k) => fed.push(k));
  q.hold("a", { readAt: performance.now() });
  const settled = q.settled();
  q.stop();
  await settled;
  q.hold("b", { readAt: performance.now() });
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(fed, []);
  assert(!q.waiting);
});

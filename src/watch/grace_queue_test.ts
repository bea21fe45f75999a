import { assert, assertEquals } from "../../test/assert.ts";
import { GraceQueue, MAX_FEED_PER_TURN } from "./grace_queue.ts";

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

Deno.test("GraceQueue: a flood of held events is fed in turns, other timers running between them", async () => {
  const fed: number[] = [];
  let timerRanAfter = -1;
  const q = new GraceQueue<{ readAt: number }>(10, () => {
    fed.push(fed.length);
    // The first feed sets a timer of its own: it must run before the flood is all fed.
    if (fed.length === 1) setTimeout(() => timerRanAfter = fed.length, 0);
  });
  const readAt = performance.now();
  for (let i = 0; i < 5 * MAX_FEED_PER_TURN; i++) q.hold(`k${i}`, { readAt });
  await q.settled();
  assertEquals(fed.length, 5 * MAX_FEED_PER_TURN);
  assert(
    timerRanAfter > 0 && timerRanAfter < fed.length,
    `the other timer ran after ${timerRanAfter} of ${fed.length} feeds`,
  );
});

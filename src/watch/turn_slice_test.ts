import { assert, assertEquals } from "../../test/assert.ts";
import { TurnSlice } from "./turn_slice.ts";

/** Spins this thread for `ms` milliseconds (no turn of the event loop). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* busy */ }
}

/** A turn of the event loop: a timer of 0 ms has run. */
const nextTurn = () => new Promise((r) => setTimeout(r, 0));

Deno.test("a slice says yes until it is its length old within a turn, and opens again in the next turn", async () => {
  // Long enough that a preemption by the machine's other load does not end it before the second
  // ask (a slice of 5 ms was refused once after 2 ms of spinning on a loaded CI machine).
  const slice = new TurnSlice(150);
  try {
    assert(slice.room(), "the first ask of a turn was refused");
    spin(2);
    assert(slice.room(), "refused before the slice was over");
    spin(160);
    assertEquals(slice.room(), false, "room after the slice was over, in the same turn");
    await nextTurn();
    assert(slice.room(), "no room in the next turn");
  } finally {
    slice.close();
  }
});

Deno.test("a slice of 0 ms, and a closed slice, say no", () => {
  const none = new TurnSlice(0);
  assertEquals(none.room(), false);
  const closed = new TurnSlice(5);
  assert(closed.room());
  closed.close();
  assertEquals(closed.room(), false, "a closed slice said yes");
});

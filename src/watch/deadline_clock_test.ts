import { assert, assertEquals } from "../../test/assert.ts";
import { DeadlineClock, PRECISE_MAX_MS } from "./deadline_clock.ts";

/** Resolves once `clock` has run `n` callbacks given by `track`. */
function tracker() {
  const ran: { name: string; at: number; atAfter: number; late: number }[] = [];
  let wake: (() => void) | undefined;
  return {
    ran,
    /** `at` is read before the call, `atAfter` after it: the clock's deadline is between. */
    track(clock: DeadlineClock, name: string, ms: number) {
      const at = performance.now() + ms;
      let atAfter = at;
      const id = clock.after(ms, () => {
        ran.push({ name, at, atAfter, late: performance.now() - at });
        wake?.();
      });
      atAfter = performance.now() + ms;
      return id;
    },
    async until(n: number) {
      while (ran.length < n) await new Promise<void>((r) => wake = r);
    },
  };
}

Deno.test("deadlines run in deadline order, none before its time, whatever order they came in", async () => {
  const clock = new DeadlineClock();
  // The first deadline opens libc: done before, so that the ones below are set together.
  await new Promise<void>((r) => clock.after(0, r));
  const t = tracker();
  for (const [name, ms] of [["six", 6], ["two", 2], ["four", 4], ["zero", 0]] as const) {
    t.track(clock, name, ms);
  }
  t.track(clock, "timer", PRECISE_MAX_MS + 5);
  t.track(clock, "three", 3);
  await t.until(6);
  // In the order of their deadlines, each set when after() was called (on a busy machine
  // the calls may be apart by a millisecond: the test's clock reading is not the clock's).
  const ran = t.ran.map((r) => r.name);
  for (let i = 1; i < t.ran.length; i++) {
    const [a, b] = [t.ran[i - 1], t.ran[i]];
    assert(
      a.at <= b.at + 0.2,
      `${a.name} (due ${a.at}) ran before ${b.name} (due ${b.at}): ${ran}`,
    );
  }
  assertEquals(new Set(ran), new Set(["zero", "two", "three", "four", "six", "timer"]));
  // nanosleep(2) never returns early; performance.now() is the same monotonic clock.
  for (const r of t.ran) assert(r.late >= -0.06, `${r.name} ran ${-r.late} ms early`);
  assertEquals(clock.pending, 0);
  await clock.close();
});

Deno.test("a cancelled deadline never runs, and the others still do", async () => {
  const clock = new DeadlineClock();
  const t = tracker();
  const a = t.track(clock, "a", 3);
  t.track(clock, "b", 5);
  const c = t.track(clock, "c", PRECISE_MAX_MS + 1);
  t.track(clock, "d", PRECISE_MAX_MS + 3);
  clock.cancel(a);
  clock.cancel(c);
  clock.cancel(12345); // unknown: nothing
  assertEquals(clock.pending, 2);
  await t.until(2);
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(t.ran.map((r) => r.name), ["b", "d"]);
  await clock.close();
});

Deno.test("a callback may set the next deadline; many deadlines at once all run", async () => {
  const clock = new DeadlineClock();
  const t = tracker();
  let chained = 0;
  const chain = () => {
    if (++chained < 5) clock.after(1, chain);
  };
  clock.after(1, chain);
  for (let i = 0; i < 500; i++) t.track(clock, `n${i}`, (i * 7) % 15);
  await t.until(500);
  while (chained < 5) await new Promise((r) => setTimeout(r, 1));
  assertEquals(new Set(t.ran.map((r) => r.name)).size, 500);
  for (const r of t.ran) assert(r.late >= -0.06, `${r.name} ran ${-r.late} ms early`);
  await clock.close();
});

Deno.test("close() drops what is pending and waits for the sleeps under way", async () => {
  const clock = new DeadlineClock();
  const t = tracker();
  t.track(clock, "precise", 4);
  t.track(clock, "timer", PRECISE_MAX_MS + 10);
  assertEquals(clock.sleeping, 1);
  await clock.close();
  assertEquals(clock.sleeping, 0);
  assertEquals(clock.pending, 0);
  t.track(clock, "after close", 0);
  await new Promise((r) => setTimeout(r, PRECISE_MAX_MS + 15));
  assertEquals(t.ran, []);
});

Deno.test("a deadline cancelled by a callback due at the same wake does not run", async () => {
  const clock = new DeadlineClock();
  const ran: string[] = [];
  let second = 0;
  clock.after(1, () => {
    ran.push("first");
    clock.cancel(second);
  });
  second = clock.after(1, () => ran.push("second"));
  clock.after(3, () => ran.push("third"));
  // Both 1 ms deadlines are due by the time this thread looks again.
  const end = performance.now() + 4;
  while (performance.now() < end) { /* keep the thread busy past both deadlines */ }
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(ran, ["first", "third"]);
  await clock.close();
});

Deno.test("thousands of deadlines in random order, a third cancelled: the rest run once each, in deadline order", async () => {
  const clock = new DeadlineClock();
  await new Promise<void>((r) => clock.after(0, r));
  const t = tracker();
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const ids: number[] = [];
  for (let i = 0; i < 3000; i++) ids.push(t.track(clock, `d${i}`, rand() * PRECISE_MAX_MS * 0.75));
  const cancelled = new Set<string>();
  for (let i = 0; i < ids.length; i += 3) {
    clock.cancel(ids[i]);
    cancelled.add(`d${i}`);
  }
  await t.until(2000);
  await new Promise((r) => setTimeout(r, PRECISE_MAX_MS));
  const ran = t.ran.map((r) => r.name);
  assertEquals(ran.length, 2000);
  assertEquals(new Set(ran).size, 2000);
  assert(!ran.some((n) => cancelled.has(n)), "a cancelled deadline ran");
  // Each deadline as the clock set it lies between `at` and `atAfter` (a collection or a
  // preemption may come between the test's clock reading and the clock's).
  for (let i = 1; i < t.ran.length; i++) {
    const [a, b] = [t.ran[i - 1], t.ran[i]];
    assert(
      a.at <= b.atAfter + 0.05,
      `${a.name} (due ${a.at}) ran before ${b.name} (due ${b.atAfter})`,
    );
  }
  for (const r of t.ran) assert(r.late >= -0.06, `${r.name} ran ${-r.late} ms early`);
  assertEquals(clock.pending, 0);
  await clock.close();
});

Deno.test("runDue runs what is due now, in deadline order, before the sleep wakes; not what is not due", async () => {
  const clock = new DeadlineClock();
  // The first deadline opens libc: done before, so that its sleep is not the one below.
  await new Promise<void>((r) => clock.after(0, r));
  const ran: string[] = [];
  clock.after(3, () => ran.push("three"));
  clock.after(1, () => ran.push("one"));
  const cancelled = clock.after(2, () => ran.push("cancelled"));
  clock.after(PRECISE_MAX_MS - 1, () => ran.push("later"));
  clock.cancel(cancelled);
  // This thread holds on past the first three deadlines: the sleep that ends at the first
  // cannot have its turn meanwhile.
  const until = performance.now() + 5;
  while (performance.now() < until) { /* busy */ }
  assertEquals(ran, []);
  assertEquals(clock.runDue(), 2);
  assertEquals(ran, ["one", "three"]);
  assertEquals(clock.runDue(), 0);
  await new Promise((r) => setTimeout(r, PRECISE_MAX_MS + 10));
  assertEquals(ran, ["one", "three", "later"]);
  await clock.close();
  assertEquals(clock.runDue(), 0);
});

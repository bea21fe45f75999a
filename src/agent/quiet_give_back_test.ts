import { assert, assertEquals } from "../../test/assert.ts";
import { QuietGiveBack } from "./quiet_give_back.ts";

const MiB = 2 ** 20;

/** A give-back driven by hand: work and resident size are set by the test. */
function driven(rss = 100 * MiB) {
  const s = { work: 0, rss, given: 0 };
  const q = new QuietGiveBack({
    activity: () => s.work,
    rss: () => s.rss,
    periodMs: 0,
    giveBack: () => {
      s.given++;
      s.rss = 101 * MiB;
    },
  });
  return { s, q };
}

Deno.test("memory is given back once, after a burst of work that grew the resident size ends", () => {
  const { s, q } = driven();
  for (let i = 0; i < 5; i++) {
    s.work += 100;
    s.rss += 10 * MiB;
    assertEquals(q.check(), false, "gave back while the agent was still working");
  }
  assertEquals(q.check(), true);
  assertEquals([s.given, q.count], [1, 1]);
  assertEquals(q.last, { before: 150 * MiB, after: 101 * MiB });
  for (let i = 0; i < 5; i++) assertEquals(q.check(), false, "gave back again while idle");
  assertEquals(s.given, 1);
});

Deno.test("an idle agent, or work that did not grow the resident size, costs no collection", () => {
  const { s, q } = driven();
  for (let i = 0; i < 5; i++) q.check();
  assertEquals(s.given, 0);
  // A heartbeat or a self-test each period: work, but no growth.
  for (let i = 0; i < 10; i++) {
    s.work++;
    s.rss += MiB / 4;
    q.check();
    q.check();
  }
  assertEquals(s.given, 0);
  // Growth beyond the threshold, then quiet: now it is worth it.
  s.work++;
  s.rss += 3 * MiB;
  q.check();
  assert(q.check());
  assertEquals(s.given, 1);
});

Deno.test("the growth is measured from the size left by the last give-back", () => {
  const { s, q } = driven();
  s.work++;
  s.rss = 130 * MiB;
  q.check();
  assert(q.check());
  // 101 MiB after it: 3 MiB more is not worth another, 5 MiB more is.
  s.work++;
  s.rss = 104 * MiB;
  q.check();
  assertEquals(q.check(), false);
  s.work++;
  s.rss = 106 * MiB;
  q.check();
  assert(q.check());
  assertEquals(s.given, 2);
});

Deno.test("it looks only after a poke, and stops looking once the agent is quiet", async () => {
  const s = { work: 0, rss: 100 * MiB, given: 0, looks: 0 };
  const q = new QuietGiveBack({
    activity: () => (s.looks++, s.work),
    rss: () => s.rss,
    periodMs: 20,
    giveBack: () => {
      s.given++;
      s.rss = 101 * MiB;
    },
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const atStart = s.looks;
    await sleep(100);
    assertEquals(s.looks, atStart, "it looked with no work");
    // A burst: work and growth, a poke, then quiet.
    s.work++;
    s.rss += 20 * MiB;
    q.poke();
    q.poke(); // one look at a time
    await sleep(200);
    assertEquals(s.given, 1);
    const after = s.looks;
    assert(after - atStart <= 3, `${after - atStart} looks for one burst`);
    await sleep(100);
    assertEquals(s.looks, after, "it went on looking while the agent was quiet");
  } finally {
    q.stop();
  }
});

Deno.test("one give-back after the start returned, once, and none once stopped", async () => {
  const { s, q } = driven();
  q.afterStart(20);
  q.afterStart(20); // asked twice: still one
  assertEquals(s.given, 0, "gave back before the delay");
  await new Promise((r) => setTimeout(r, 80));
  assertEquals([s.given, q.count], [1, 1]);
  const stopped = driven();
  stopped.q.afterStart(20);
  stopped.q.stop();
  await new Promise((r) => setTimeout(r, 80));
  assertEquals(stopped.s.given, 0, "gave back after stop()");
});

import { assertEquals } from "../../test/assert.ts";
import { MarkGate } from "./mark_gate.ts";

Deno.test("mark gate: on only while allowed and every entry is vouched for, written only on change", () => {
  const writes: boolean[] = [];
  const g = new MarkGate((on) => writes.push(on));
  g.entered("a", true);
  assertEquals(g.on, false, "not allowed yet");
  g.allow(true);
  assertEquals(g.on, true);
  g.entered("b", false);
  assertEquals([g.on, g.unvouched], [false, 1]);
  g.entered("b", false); // again: no second write
  g.entered("b", true); // marked now
  assertEquals(g.on, true);
  g.entered("c", false);
  g.left("c");
  g.left("never-seen");
  assertEquals(g.on, true);
  g.allow(false);
  assertEquals(g.on, false);
  assertEquals(writes, [true, false, true, false, true, false]);
  assertEquals(g.closings, 3);
});

Deno.test("mark gate: a failed write leaves the gate as it was", () => {
  let fail = false;
  const g = new MarkGate(() => {
    if (fail) throw new Error("map update failed");
  });
  g.allow(true);
  fail = true;
  let threw = false;
  try {
    g.entered("x", false);
  } catch {
    threw = true;
  }
  assertEquals([threw, g.on], [true, true]);
});

Deno.test("mark gate: a kernel switch someone else wrote is found and written back", () => {
  let kernel = false;
  const g = new MarkGate((on) => kernel = on, () => kernel);
  assertEquals(g.keptInKernel(), true);
  kernel = true; // opened behind the agent's back while it is shut
  assertEquals([g.keptInKernel(), kernel], [false, false]);
  g.allow(true);
  assertEquals([g.on, kernel, g.keptInKernel()], [true, true, true]);
});

import { assertEquals } from "../../test/assert.ts";
import { AgedMap, SWEEP_MS } from "./aged_map.ts";

const fresh = (now: number) => (at: number) => now - at <= 100;

Deno.test("setNewest moves an entry to the newest end", () => {
  const m = new AgedMap<string, number>(10);
  m.setNewest("a", 1);
  m.setNewest("b", 2);
  m.setNewest("a", 3);
  assertEquals([...m], [["b", 2], ["a", 3]]);
});

Deno.test("a sweep drops the oldest entries past their time, and stops at the first kept", () => {
  const m = new AgedMap<string, number>(10);
  m.setNewest("old", 0);
  m.setNewest("kept", 150);
  m.setNewest("older, behind a kept one", 0);
  m.dropOldest(fresh(200), 200);
  assertEquals([...m.keys()], ["kept", "older, behind a kept one"]);
});

Deno.test("sweeps run at most once per SWEEP_MS while the map is within its bound", () => {
  const m = new AgedMap<string, number>(10);
  m.setNewest("a", 0);
  m.dropOldest(fresh(50), 50);
  assertEquals(m.size, 1);
  m.setNewest("b", 0);
  // Expired, but the last sweep was less than SWEEP_MS ago: kept until the next.
  m.dropOldest(fresh(200), 50 + SWEEP_MS - 1);
  assertEquals(m.size, 2);
  m.dropOldest(fresh(200), 50 + SWEEP_MS);
  assertEquals(m.size, 0);
});

Deno.test("a map over its bound is trimmed at once, to seven eighths of it", () => {
  const m = new AgedMap<number, number>(64);
  const keep = () => true;
  for (let i = 0; i < 64; i++) m.setNewest(i, 0);
  m.dropOldest(keep, 0);
  assertEquals(m.size, 64);
  m.setNewest(64, 0);
  // Over the bound: swept although the last sweep was just now, the oldest going first.
  m.dropOldest(keep, 0);
  assertEquals([m.size, m.keys().next().value], [56, 9]);
  // Within it again: the inserts after wait for the next sweep.
  for (let i = 65; i < 73; i++) m.setNewest(i, 0);
  m.dropOldest(keep, 1);
  assertEquals(m.size, 64);
});

import { assert, assertEquals } from "../../test/assert.ts";
import { SetMap } from "./set_map.ts";

Deno.test("set map: one value, then many, then one again, then none; order kept, no duplicates", () => {
  const m = new SetMap<string, string>();
  assertEquals([m.get("k"), m.has("k"), m.get("k").length], [[], false, 0]);
  m.add("k", "a");
  m.add("k", "a");
  assertEquals([m.get("k"), m.get("k").length], [["a"], 1]);
  m.add("k", "b");
  m.add("k", "c");
  m.add("k", "b");
  assertEquals([m.get("k"), m.get("k").length], [["a", "b", "c"], 3]);
  assert(!m.delete("k", "x"));
  assert(m.delete("k", "a"));
  assert(m.delete("k", "c"));
  assertEquals([m.get("k"), m.get("k").length], [["b"], 1]);
  assert(!m.delete("k", "a"));
  assert(m.delete("k", "b"));
  assertEquals([m.get("k"), m.has("k")], [[], false]);
  assert(!m.delete("k", "b"));
});

Deno.test("set map: get() is a copy; keys are apart; clear() empties", () => {
  const m = new SetMap<number, string>();
  m.add(1, "a");
  m.add(2, "b");
  m.add(2, "c");
  m.get(2).push("z");
  assertEquals([m.get(1), m.get(2)], [["a"], ["b", "c"]]);
  m.clear();
  assertEquals([m.has(1), m.has(2)], [false, false]);
});

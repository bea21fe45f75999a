import { assertEquals } from "../../test/assert.ts";
import { OwnerText } from "./owner_text.ts";

Deno.test("OwnerText charges each owner but root, and gives back what a path kept", () => {
  const t = new OwnerText(100);
  assertEquals([t.take(1000, "/a", 60), t.take(1000, "/b", 30)], [true, true]);
  // Over the budget together: refused, nothing charged.
  assertEquals([t.take(1000, "/c", 20), t.held(1000), t.refused], [false, 90, 1]);
  // The same path again: what it kept is given back first.
  assertEquals([t.take(1000, "/a", 70), t.held(1000)], [true, 100]);
  // Another owner has a budget of their own; root is never charged.
  assertEquals([t.take(1001, "/d", 100), t.take(0, "/e", 1e9), t.held(0)], [true, true, 0]);
  // A path that keeps no text any more (deleted, binary, given to root) gives its text back.
  t.kept("/a", 0, 0);
  assertEquals([t.held(1000), t.take(1000, "/c", 20)], [30, true]);
  // A path given to another owner moves its charge.
  t.kept("/b", 1001, 30);
  assertEquals([t.held(1000), t.held(1001)], [20, 130]);
});

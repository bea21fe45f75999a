import { assert, assertEquals } from "../../test/assert.ts";
import { V8_FLAGS } from "../runtime_flags.ts";

const CHILD = new URL("./heap_ceiling_child.ts", import.meta.url).pathname;

/** Runs heap_ceiling_child.ts with the agent's V8 flags, gc() exposed or not. */
async function child(exposed: boolean): Promise<{ collections: number; grewMost: number }> {
  const flags = exposed ? V8_FLAGS : V8_FLAGS.replace(",--expose-gc", "");
  assert(flags.includes("--max-opt") && (exposed || !flags.includes("expose-gc")), flags);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--v8-flags=${flags}`, CHILD],
    stderr: "inherit",
  }).output();
  assert(out.success, "heap_ceiling_child.ts failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("HeapCeiling: garbage that outlives the young generation is collected past its margin, not when V8 would", async () => {
  // V8 alone lets the old generation about double before a full collection: the 2,000,000 objects made
  // here, a window held while eight more are made, grow the heap by several times the margin.
  const free = await child(false);
  assertEquals(free.collections, 0, "without gc() exposed nothing is collected");
  const bounded = await child(true);
  assert(bounded.collections > 0, "no collection made");
  // The margin (8 MB), the young generation (a semi-space of 4 MB, up to 3 in use) and a window.
  assert(bounded.grewMost < 24 << 20, `the heap grew ${bounded.grewMost >> 20} MB past its least`);
  assert(free.grewMost > bounded.grewMost + (8 << 20), `V8 alone: ${free.grewMost >> 20} MB`);
});

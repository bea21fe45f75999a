import { assertEquals } from "../../test/assert.ts";
import { IdRanges } from "./id_ranges.ts";

/** The ids in `r`, by asking has() over 0..max. */
function ids(r: IdRanges, max: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= max; i++) if (r.has(i)) out.push(i);
  return out;
}

Deno.test("IdRanges holds what a Set would, under random adds and deletes", () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let round = 0; round < 50; round++) {
    const r = new IdRanges();
    const s = new Set<number>();
    for (let step = 0; step < 300; step++) {
      const id = rand(60);
      const op = rand(10);
      if (op < 6) {
        r.add(id);
        s.add(id);
      } else if (op < 9) {
        r.delete(id);
        s.delete(id);
      } else {
        r.deleteThrough(id);
        for (const x of [...s]) if (x <= id) s.delete(x);
      }
      assertEquals(r.size, s.size);
      assertEquals(r.first(), s.size ? Math.min(...s) : undefined);
    }
    assertEquals(ids(r, 60), [...s].sort((a, b) => a - b));
  }
});

Deno.test("IdRanges keeps a run of consecutive ids as one", () => {
  const r = new IdRanges();
  for (let i = 1_000_000; i > 0; i--) r.add(i);
  assertEquals(r.size, 1_000_000);
  r.deleteThrough(999_990);
  assertEquals(r.size, 10);
  assertEquals(r.first(), 999_991);
  r.clear();
  assertEquals(r.size, 0);
  assertEquals(r.first(), undefined);
});

import { assert, assertEquals } from "../../test/assert.ts";
import { DepartedDirs } from "./departed_dirs.ts";

Deno.test("departed dirs: an event on the inode after it left the path is not the path's; before, or another inode or path, it is", () => {
  const d = new DepartedDirs();
  const id = { dev: 8, ino: 42n };
  d.note("/w/sub", id, 1000n);
  assert(d.after("/w/sub", id, 1000n));
  assert(d.after("/w/sub", id, 2000n));
  assert(!d.after("/w/sub", id, 999n), "made in it before it left");
  assert(!d.after("/w/sub", { dev: 8, ino: 43n }, 2000n), "the path's successor");
  assert(!d.after("/w/other", id, 2000n), "another path at the inode (renamed to it)");
  // The earliest departure stays.
  d.note("/w/sub", id, 3000n);
  assert(d.after("/w/sub", id, 1500n));
  d.note("/w/sub", id, 500n);
  assert(d.after("/w/sub", id, 600n));
  d.forget("/w/sub", id);
  assert(!d.after("/w/sub", id, 2000n), "back at its path");
});

Deno.test("departed dirs: remembered departures are bounded", () => {
  const d = new DepartedDirs();
  for (let i = 0; i < 10_000; i++) d.note(`/w/d${i}`, { dev: 8, ino: BigInt(i) }, 1n);
  assertEquals(d.size, 4096);
  assert(d.after("/w/d9999", { dev: 8, ino: 9999n }, 2n), "the newest is kept");
  assert(!d.after("/w/d0", { dev: 8, ino: 0n }, 2n), "the oldest went first");
});

import { assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { chargedOwner, OwnerBudget } from "./owner_budget.ts";
import { readFileState } from "./file_state.ts";

Deno.test("each owner gets its share, all owners together theirs, root none; released entries come back", () => {
  const b = new OwnerBudget(2, 3);
  const refused: number[] = [];
  b.onFirstRefusal = (owner) => refused.push(owner);
  assertEquals([b.charge(1000, "a"), b.charge(1000, "b"), b.charge(1000, "c")], [
    true,
    true,
    false,
  ]);
  assertEquals([b.charge(1001, "d"), b.charge(1002, "e")], [true, false]); // all owners: 3
  assertEquals([b.charge(0, "f"), b.charge(1000, "g")], [true, false]);
  assertEquals(refused, [1000, 1002], "one warning per owner");
  assertEquals(
    b.refusal(1000, "/home/u/f"),
    "uid 1000 has made 2 new entries in watched directories, its share of the kernel's watch map (2): " +
      "its further ones (first /home/u/f) are not watched, so that they cannot crowd out root's " +
      "(bpfink_watch_refused_entries; max_watches sizes the map)",
  );
  assertEquals(b.refusal(1002, "x").includes("with other users, their share"), true);
  b.release(1000);
  assertEquals([b.held(1000), b.total, b.charge(1002, "e")], [1, 2, true]);
  b.release(4242); // never charged: nothing happens
  assertEquals(b.total, 3);
});

Deno.test("a new entry is charged to its directory's owner, or to its own where group or others may write", async () => {
  await using dir = await tempDir();
  const own = `${dir.path}/own`;
  const shared = `${dir.path}/shared`;
  for (const d of [own, shared]) await Deno.mkdir(d);
  await Deno.chown(own, 1000, 1000);
  await Deno.chmod(shared, 0o1777);
  await Deno.writeTextFile(`${own}/x`, "");
  await Deno.writeTextFile(`${shared}/y`, "");
  await Deno.chown(`${shared}/y`, 1001, 1001);
  assertEquals(chargedOwner(await readFileState(own), `${own}/x`), 1000);
  assertEquals(chargedOwner(await readFileState(shared), `${shared}/y`), 1001);
  assertEquals(chargedOwner(await readFileState(dir.path), `${dir.path}/own`), 0);
  assertEquals(chargedOwner(undefined, `${own}/x`), 0);
});

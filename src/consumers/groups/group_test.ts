import { assertEquals } from "../../../test/assert.ts";
import { parseGroup } from "./group.ts";

Deno.test("group: name, gid and members; blanks and empty members dropped", () => {
  const r = parseGroup("sudo:x:27:alice, bob,,\nempty:x:5:\n");
  assertEquals(r.errors, []);
  assertEquals(r.entries, [
    { name: "sudo", gid: 27, members: ["alice", "bob"], line: 1 },
    { name: "empty", gid: 5, members: [], line: 2 },
  ]);
});

Deno.test("group: a gid glibc rejects is reported by line; 3 fields and colons in members are fine", () => {
  const r = parseGroup("a:x:zz:\nb:x:1\nc:x:3:d\ne:x\nf:x:-1:\ng:x: +7:a:b, c\t,\t d\n");
  assertEquals(r.entries.map((e) => [e.name, e.gid, e.members]), [
    ["b", 1, []],
    ["c", 3, ["d"]],
    ["g", 7, ["a:b", "c\t", "d"]],
  ]);
  assertEquals(r.errors.map((e) => e.line), [1, 4, 5]);
});

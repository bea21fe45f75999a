import { assertEquals } from "../../test/assert.ts";
import { parseGroup } from "./group.ts";

Deno.test("group: name, gid and members; blanks and empty members dropped", () => {
  const r = parseGroup("sudo:x:27:alice, bob,,\nempty:x:5:\n");
  assertEquals(r.errors, []);
  assertEquals(r.entries, [
    { name: "sudo", gid: 27, members: ["alice", "bob"], line: 1 },
    { name: "empty", gid: 5, members: [], line: 2 },
  ]);
});

Deno.test("group: bad gid and field count are reported by line", () => {
  const r = parseGroup("a:x:zz:\nb:x:1\nc:x:3:d\n");
  assertEquals(r.entries.map((e) => e.name), ["c"]);
  assertEquals(r.errors.map((e) => e.line), [1, 2]);
});

import { assertEquals } from "../../../test/assert.ts";
import { parseInitgroups } from "./initgroups.ts";

const grants = (t: string) => parseInitgroups(t).map((g) => [g.name, g.gid, g.members, g.line]);

Deno.test("initgroups reads every line: comments grant, lines without members or gid give nothing", () => {
  assertEquals(
    grants("root:x:0:\n#sudo:x:27:trudy\n\n# note:x: 0:alice\nbad:x:zz:bob\n+e:x::zed\n"),
    [
      ["#sudo", 27, ["trudy"], 2],
      ["# note", 0, ["alice"], 4],
      ["+e", 0, ["zed"], 6],
    ],
  );
});

Deno.test("initgroups keeps leading blanks in the name and repeats no tail; a NUL ends the line", () => {
  assertEquals(grants("  +e:x::alice\n   a:x:27:alice"), [["   a", 27, ["alice"], 2]]);
  assertEquals(grants("a:x:27:bob\0:x:5:alice\nb:x:6:carol\r\n"), [
    ["a", 27, ["bob"], 1],
    ["b", 6, ["carol\r"], 2],
  ]);
});

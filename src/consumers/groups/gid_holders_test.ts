import { assertEquals } from "../../../test/assert.ts";
import { parseGroup } from "./group.ts";
import { gidNames, nameGids, supplementaryGids } from "./gid_holders.ts";
import { parseInitgroups } from "./initgroups.ts";

const group = (t: string) => parseGroup(t).entries;

Deno.test("supplementary gids come from every line: duplicates, aliases and `+` lines", () => {
  const g = parseInitgroups(
    "sudo:x:27:\nsudo:x:27:mallory\nwheel2:x:27:trudy,mallory\n+e:x::trudy\n",
  );
  assertEquals(
    [...supplementaryGids(g)].map(([u, gids]) => [u, [...gids]]),
    [["mallory", [27]], ["trudy", [27, 0]]],
  );
});

Deno.test("a gid is named by its first line, a name numbered by its first line; `+`/`-` lines by neither", () => {
  const g = group("+r:x::\nwheel2:x:27:\nsudo:x:27:\nsudo:x:1001:\n-s:x:5:\n");
  assertEquals([...gidNames(g)], [[27, "wheel2"], [1001, "sudo"]]);
  assertEquals([...nameGids(g)], [["wheel2", 27], ["sudo", 27]]);
});

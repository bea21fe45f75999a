import { assertEquals } from "../../../test/assert.ts";
import { parseGroup } from "./group.ts";
import { privilegedGids } from "./privileged_gids.ts";

const privileged = (t: string) => [...privilegedGids(parseGroup(t).entries)].sort((a, b) => a - b);

Deno.test("privileged gids: 0 always, and the gids of administrative groups whatever else names them", () => {
  assertEquals(privileged(""), [0]);
  assertEquals(privileged("users:x:100:\nsudo:x:27:\nwheel2:x:27:\n"), [0, 27]);
  // getgrgid(27) is wheel2, getgrnam("sudo") is still 27.
  assertEquals(privileged("wheel2:x:27:\nsudo:x:27:\n"), [0, 27]);
});

Deno.test("privileged gids: a second `sudo` line names its gid when it is the gid's first line", () => {
  assertEquals(privileged("sudo:x:27:\nsudo:x:1001:zed\n"), [0, 27, 1001]);
  // 1001 is devs' gid (getgrgid says devs): the second sudo line gives nothing.
  assertEquals(privileged("sudo:x:27:\ndevs:x:1001:\nsudo:x:1001:\n"), [0, 27]);
  // `+`/`-` lines name no gid.
  assertEquals(privileged("+sudo:x:5:\n"), [0]);
});

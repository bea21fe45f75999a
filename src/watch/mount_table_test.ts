import { assertEquals } from "../../test/assert.ts";
import { MountTable, readMountInfo } from "./mount_table.ts";

Deno.test("the mount table changed only when its text did, or when it could not be read", () => {
  let text: string | undefined = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n";
  const t = new MountTable(() => text);
  assertEquals(t.changed(), false);
  text += "40 22 0:50 / /mnt rw - tmpfs none rw\n";
  assertEquals(t.changed(), true);
  assertEquals(t.changed(), false, "the same change counted twice");
  text = undefined;
  assertEquals(t.changed(), true, "an unreadable table passed for unchanged");
  assertEquals(t.changed(), true);
});

Deno.test("readMountInfo reads this process's mount table", () => {
  assertEquals(readMountInfo()?.split("\n").some((l) => l.split(" ")[4] === "/"), true);
});

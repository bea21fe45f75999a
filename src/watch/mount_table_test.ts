import { assertEquals } from "../../test/assert.ts";
import { mountPointOf, MountTable, readMountInfo, underMountChanges } from "./mount_table.ts";

const ROOT = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw";
const TMP = "40 22 0:50 / /srv/a\\040b rw shared:7 - tmpfs none rw";

Deno.test("the mount table names the mount points whose lines came or went, and nothing when none did", () => {
  let text: string | undefined = `${ROOT}\n`;
  const t = new MountTable(() => text);
  assertEquals(t.changes(), undefined);
  text = `${ROOT}\n${TMP}\n`;
  assertEquals(t.changes(), ["/srv/a b"]);
  assertEquals(t.changes(), undefined, "the same change counted twice");
  // A remount changes the line: its mount point moved too.
  text = `${ROOT}\n${TMP.replace(" rw shared", " ro shared")}\n`;
  assertEquals(t.changes(), ["/srv/a b"]);
  text = `${ROOT}\nnot a mountinfo line\n`;
  assertEquals(t.changes(), "all", "an unparsed line passed for a known change");
  text = undefined;
  assertEquals(t.changes(), "all", "an unreadable table passed for unchanged");
  assertEquals(t.changes(), "all");
});

Deno.test("a path is under a changed mount point when it is that point or below it", () => {
  assertEquals(underMountChanges(["/srv/a b"], "/srv/a b"), true);
  assertEquals(underMountChanges(["/srv/a b"], "/srv/a b/conf"), true);
  assertEquals(underMountChanges(["/srv/a b"], "/srv/a bc"), false);
  assertEquals(underMountChanges(["/srv/a b"], "/srv"), false);
  assertEquals(underMountChanges(["/"], "/etc/passwd"), true);
  assertEquals(underMountChanges("all", "/etc/passwd"), true);
  assertEquals(underMountChanges([], "/etc/passwd"), false);
});

Deno.test("mountPointOf decodes the kernel's octal escapes and refuses what is not a line", () => {
  assertEquals(mountPointOf(TMP), "/srv/a b");
  assertEquals(mountPointOf("1 2 3:4 / /a\\011\\012\\134b rw - x y rw"), "/a\t\n\\b");
  assertEquals(mountPointOf("garbage"), undefined);
  assertEquals(
    mountPointOf("1 2 3:4 / /srv/\uFFFD rw - x y rw"),
    undefined,
    "bytes that were not UTF-8",
  );
});

Deno.test("readMountInfo reads this process's mount table", () => {
  assertEquals(readMountInfo()?.split("\n").some((l) => mountPointOf(l) === "/"), true);
});

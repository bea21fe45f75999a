import { assertEquals } from "../../test/assert.ts";
import { kernelIdentity, mountOf, parseMountinfo } from "./kernel_identity.ts";
import { kernelDev } from "../watch/inode_key.ts";

const MOUNTINFO = [
  "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw",
  "48 22 0:41 / /srv/bt rw,relatime shared:30 - btrfs /dev/loop0 rw,subvol=/",
  "49 48 0:50 / /srv/bt/over rw - overlay overlay rw,lowerdir=/a",
  "50 22 0:51 / /srv/with\\040space rw - tmpfs tmpfs rw",
  "51 22 0:52 / /srv/bt rw - tmpfs tmpfs rw",
  "garbage line",
].join("\n");

Deno.test("mountinfo gives each mount's superblock device; the longest, last mount point holds a path", () => {
  const mounts = parseMountinfo(MOUNTINFO);
  assertEquals(mounts.length, 5);
  assertEquals(mounts[1], { mountPoint: "/srv/bt", dev: (0 << 20) | 41, fsType: "btrfs" });
  assertEquals(mounts[3].mountPoint, "/srv/with space");
  assertEquals(mountOf("/etc/passwd", mounts)?.dev, (254 << 20) | 1);
  assertEquals(mountOf("/srv/bt/over/f", mounts)?.fsType, "overlay");
  assertEquals(mountOf("/srv/btx/f", mounts)?.fsType, "ext4");
  // Mounted over: the later mount is the one seen.
  assertEquals(mountOf("/srv/bt/f", mounts)?.dev, 52);
});

Deno.test("on an ordinary file system the kernel's device is stat's", async () => {
  const info = await Deno.stat("/etc/passwd");
  assertEquals(kernelIdentity.inodeOf("/etc/passwd", info), {
    dev: kernelDev(info.dev!),
    ino: BigInt(info.ino!),
  });
});

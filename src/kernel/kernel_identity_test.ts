import { assert, assertEquals } from "../../test/assert.ts";
import { KernelIdentity, kernelIdentity, mountOf, parseMountinfo } from "./kernel_identity.ts";
import { kernelDev } from "../watch/inode_key.ts";
import { lstat } from "../watch/native_fs.ts";

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
  assertEquals(mounts[1], {
    mountId: 48,
    mountPoint: "/srv/bt",
    dev: (0 << 20) | 41,
    fsType: "btrfs",
  });
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

Deno.test("deviceOfStat(): stat's device when the mount reached through is on it, else as deviceOf() finds it", () => {
  const ki = new KernelIdentity();
  for (const path of ["/etc/passwd", "/proc/self/status", "/dev/null", "/run"]) {
    const st = lstat(path)!;
    assert(st.mntId !== undefined, "statx gives the mount id (5.8+)");
    assertEquals(ki.deviceOfStat(path, st.dev, st.mntId), ki.deviceOf(path, st.dev), path);
    // A mount id of nothing mounted, or of a mount on another device: asked of the path.
    assertEquals(ki.deviceOfStat(path, st.dev, 1 << 30), ki.deviceOf(path, st.dev), path);
    assertEquals(ki.deviceOfStat(path, st.dev, undefined), ki.deviceOf(path, st.dev), path);
  }
});

Deno.test("isInode(): the same number on the same superblock, told by stat's device or by the mount it was reached through", () => {
  const st = lstat("/etc/passwd")!;
  const id = kernelIdentity.inodeOf("/etc/passwd", Deno.statSync("/etc/passwd"));
  assert(st.mntId !== undefined, "statx gave no mount id (5.8+)");
  assertEquals(kernelIdentity.isInode(st, id), true);
  assertEquals(kernelIdentity.isInode(st, { ...id, ino: id.ino + 1n }), false);
  assertEquals(kernelIdentity.isInode(st, { ...id, dev: id.dev + 1 }), false);
  // stat's device differs from the superblock's (btrfs, overlayfs): the mount decides.
  const odd = { ...st, dev: 0xfff00fff };
  assertEquals(kernelIdentity.isInode(odd, id), true);
  assertEquals(kernelIdentity.isInode({ ...odd, mntId: undefined }, id), false);
  assertEquals(kernelIdentity.isInode({ ...odd, mntId: 0x7fffffff }, id), false);
});

Deno.test("a bind-mounted file has its mount's device, its siblings the directory's (needs root)", async () => {
  if (Deno.uid() !== 0) return;
  const dir = await Deno.makeTempDir({ prefix: "bpfink-identity-" });
  const mounted: string[] = [];
  const sh = async (...args: string[]) => {
    const r = await new Deno.Command(args[0], { args: args.slice(1), stderr: "piped" }).output();
    if (!r.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  };
  try {
    await Deno.mkdir(`${dir}/fs`);
    await sh("mount", "-t", "tmpfs", "tmpfs", `${dir}/fs`);
    mounted.unshift(`${dir}/fs`);
    await Deno.writeTextFile(`${dir}/fs/source`, "on tmpfs\n");
    for (const f of ["plain", "bound"]) await Deno.writeTextFile(`${dir}/${f}`, "on disk\n");
    const dev = (p: string) => kernelDev(Deno.statSync(p).dev!);
    // Looked up once before the bind mount (cached), then after it.
    assertEquals(kernelIdentity.deviceOf(`${dir}/bound`, 0), dev(`${dir}/plain`));
    await sh("mount", "--bind", `${dir}/fs/source`, `${dir}/bound`);
    mounted.unshift(`${dir}/bound`);
    await new Promise((r) => setTimeout(r, 600)); // the mount table is re-read at most every 500 ms
    assertEquals(kernelIdentity.deviceOf(`${dir}/plain`, 0), dev(`${dir}/plain`));
    assertEquals(kernelIdentity.deviceOf(`${dir}/bound`, 0), dev(`${dir}/fs/source`));
    assertEquals(kernelIdentity.deviceOf(`${dir}/fs/source`, 0), dev(`${dir}/fs/source`));
  } finally {
    for (const m of mounted) await sh("umount", m).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file on a file system mounted a moment ago has that file system's device, though the table was read before the mount (needs root)", async () => {
  if (Deno.uid() !== 0) return;
  const dir = await Deno.makeTempDir({ prefix: "bpfink-identity-" });
  const identity = new KernelIdentity();
  const dev = (p: string) => kernelDev(Deno.statSync(p).dev!);
  let mounted = false;
  try {
    await Deno.writeTextFile(`${dir}/before`, "on disk\n");
    await Deno.mkdir(`${dir}/ram`);
    // The table is read now, without the ramfs.
    assertEquals(identity.deviceOf(`${dir}/before`, dev(`${dir}/before`)), dev(`${dir}/before`));
    const r = await new Deno.Command("mount", {
      args: ["-t", "ramfs", "bpfink-test", `${dir}/ram`],
    })
      .output();
    assert(r.success, "mount");
    mounted = true;
    await Deno.writeTextFile(`${dir}/ram/f`, "on ramfs\n");
    // Well within the 500 ms the table is kept: the disagreement with stat has it read again.
    const got = identity.deviceOf(`${dir}/ram/f`, dev(`${dir}/ram/f`));
    assert(dev(`${dir}/ram/f`) !== dev(`${dir}/before`), "the ramfs has the disk's device");
    assertEquals(got, dev(`${dir}/ram/f`), "given the device of the mount it was mounted over");
  } finally {
    if (mounted) await new Deno.Command("umount", { args: ["--lazy", `${dir}/ram`] }).output();
    await Deno.remove(dir, { recursive: true });
  }
});

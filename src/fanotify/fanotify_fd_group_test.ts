import { assert, assertEquals } from "../../test/assert.ts";
import { FanMask } from "./fanotify_abi.ts";
import { FanotifyFdGroup } from "./fanotify_fd_group.ts";
import { parseFanotify } from "./fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";

/** `path`'s inode as the kernel names it (the mark checks device and number). */
const kernelIdOf = async (path: string) => kernelIdentity.inodeOf(path, await Deno.lstat(path));

/**
 * The fds this process has open on `path`. Other test modules run in this process
 * (`deno test --parallel`) and open fds of their own, so a leak is counted only by
 * what the fds refer to: nothing but the group's events opens this test's file.
 */
function fdsOn(path: string): number[] {
  const fds: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === path) fds.push(Number(entry.name));
    } catch {
      // closed between the listing and the read: not open on `path`
    }
  }
  return fds;
}

Deno.test("a classic group marks regular files only, names each write's file by its fd, and leaks no fd", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/f`;
  const fifo = `${dir.path}/fifo`;
  await Deno.writeTextFile(f, "0\n");
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert(mk.success);
  const group = FanotifyFdGroup.open(() => {});
  const seen: { mask: number; key?: string; pid: number }[] = [];
  try {
    const key = group.mark(f, await kernelIdOf(f));
    assert(key !== undefined, "a regular file was not marked");
    assertEquals(group.mark(fifo, await kernelIdOf(fifo)), undefined, "a FIFO");
    const id = await kernelIdOf(f);
    assertEquals(
      group.mark(f, { ...id, ino: 1n }),
      undefined,
      "marked a path that is another inode",
    );
    assertEquals(
      group.mark(f, { ...id, dev: id.dev + 1 }),
      undefined,
      "marked another device's inode",
    );
    group.start((bytes) => {
      for (const e of parseFanotify(bytes).events) {
        seen.push({ mask: e.mask, key: FanotifyFdGroup.takeFd(e.fd), pid: e.pid });
      }
    });
    assertEquals(fdsOn(f), [], "an fd was open on the file before any event");
    const sh = new Deno.Command("sh", { args: ["-c", `echo x >> "$1"`, "sh", f] }).spawn();
    const { success } = await sh.status;
    assert(success);
    assert(await waitFor(() => seen.some((e) => e.mask & FanMask.CLOSE_WRITE)), "no close_write");
    assert(seen.every((e) => e.key === key && e.pid === sh.pid), JSON.stringify(seen));
    assert(seen.some((e) => e.mask & FanMask.MODIFY), JSON.stringify(seen));
    assertEquals(fdsOn(f), [], "an event's fd was left open");
    group.unmark(f, await kernelIdOf(f));
    const n = seen.length;
    const again = await new Deno.Command("sh", { args: ["-c", `echo y >> "$1"`, "sh", f] })
      .output();
    assert(again.success);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(seen.length, n, "an unmarked file sent events");
  } finally {
    await group.close();
  }
});

import { assert, assertEquals } from "../../test/assert.ts";
import { FanMask, FILE_MASK, InfoType } from "./fanotify_abi.ts";
import { FanotifyGroup, markKey } from "./fanotify_group.ts";
import { parseFanotify } from "./fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";

/** `path`'s inode as the kernel names it (the mark checks device and number). */
const kernelIdOf = async (path: string) => kernelIdentity.inodeOf(path, await Deno.lstat(path));

/** Appends one line to `path` from another process. */
async function append(path: string): Promise<void> {
  const sh = new Deno.Command("sh", { args: ["-c", `echo x >> "$1"`, "sh", path] });
  assert((await sh.output()).success);
}

Deno.test("a muted inode sends no write event until unmuted; another marked inode is not muted", async () => {
  await using dir = await tempDir();
  const [a, b] = [`${dir.path}/a`, `${dir.path}/b`];
  for (const f of [a, b]) await Deno.writeTextFile(f, "0\n");
  const group = FanotifyGroup.open();
  const writes: string[] = [];
  try {
    const ma = group.mark(a, await kernelIdOf(a), FILE_MASK)!;
    const mb = group.mark(b, await kernelIdOf(b), FILE_MASK)!;
    group.start((bytes) => {
      for (const e of parseFanotify(bytes).events) {
        if (!(e.mask & FanMask.MODIFY)) continue;
        const key = e.fids.find((f) => f.infoType === InfoType.FID)?.key;
        writes.push(key === markKey(ma) ? "a" : key === markKey(mb) ? "b" : "?");
      }
    });
    assert(group.mute(ma, FanMask.MODIFY), "mute refused");
    await append(a);
    await append(b);
    // b's event is read after a's would have been (one queue, in order).
    assert(await waitFor(() => writes.includes("b")), "no event for b");
    assertEquals(writes, ["b"], "a muted inode sent a write event");
    group.unmute(ma, FanMask.MODIFY);
    await append(a);
    assert(await waitFor(() => writes.includes("a")), "no event for a once unmuted");
  } finally {
    await group.close();
  }
});

Deno.test("a mark follows the inode, not the name: a file renamed away and unmarked by handle sends nothing more", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/f`;
  await Deno.writeTextFile(f, "0\n");
  const group = FanotifyGroup.open();
  let events = 0;
  try {
    const m = group.mark(f, await kernelIdOf(f), FILE_MASK)!;
    const id = await kernelIdOf(f);
    assertEquals(group.mark(f, { ...id, ino: 1n }, FILE_MASK), undefined, "marked another inode");
    assertEquals(
      group.mark(f, { ...id, dev: id.dev + 1 }, FILE_MASK),
      undefined,
      "marked the same number on another device",
    );
    group.start((bytes) => events += parseFanotify(bytes).events.length);
    await Deno.rename(f, `${dir.path}/g`);
    await append(`${dir.path}/g`);
    assert(await waitFor(() => events >= 2), "the renamed inode sent nothing");
    group.unmark(m);
    const before = events;
    await append(`${dir.path}/g`);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(events, before, "an unmarked inode sent events");
  } finally {
    await group.close();
  }
});

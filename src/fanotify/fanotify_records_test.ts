import { assert, assertEquals } from "../../test/assert.ts";
import { rng } from "../../test/rng.ts";
import { DIR_MASK, FanMask, FILE_MASK, InfoType } from "./fanotify_abi.ts";
import { FanotifyGroup, markKey } from "./fanotify_group.ts";
import { parseFanotify } from "./fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";

/** `path`'s inode as the kernel names it (the mark checks device and number). */
const kernelIdOf = async (path: string) => kernelIdentity.inodeOf(path, await Deno.lstat(path));

/** Bytes the kernel wrote for real changes: a write to a marked file, a file made in a marked directory. */
async function realBytes(): Promise<{ bytes: Uint8Array[]; fileKey: string; dirKey: string }> {
  await using dir = await tempDir();
  const file = `${dir.path}/f`;
  await Deno.writeTextFile(file, "a");
  const group = FanotifyGroup.open();
  const bytes: Uint8Array[] = [];
  try {
    const fm = group.mark(file, await kernelIdOf(file), FILE_MASK)!;
    const dm = group.mark(dir.path, await kernelIdOf(dir.path), DIR_MASK)!;
    group.start((b) => bytes.push(b));
    const sh = new Deno.Command("sh", {
      args: ["-c", `echo b >> "$1" && : > "$2/new$(printf '\\377') name"`, "sh", file, dir.path],
    });
    assert((await sh.output()).success);
    // Both changes' events: the write's FAN_MODIFY and the new entry's FAN_CREATE (a count of
    // two is not enough, since the write's FAN_CLOSE_WRITE may come before the FAN_CREATE).
    const seen = (bit: number) => parseFanotify(concat(bytes)).events.some((e) => e.mask & bit);
    assert(
      await waitFor(() => seen(FanMask.MODIFY) && seen(FanMask.CREATE)),
      "the write's and the new entry's events did not both come",
    );
    return { bytes, fileKey: markKey(fm), dirKey: markKey(dm) };
  } finally {
    await group.close();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

Deno.test("a real write and a real new entry parse to their marked inode's and directory's handles", async () => {
  const { bytes, fileKey, dirKey } = await realBytes();
  const { events, malformed } = parseFanotify(concat(bytes));
  assert(!malformed);
  const write = events.find((e) => e.mask & FanMask.MODIFY);
  assert(write, "no FAN_MODIFY");
  assertEquals(write.fids.find((f) => f.infoType === InfoType.FID)?.key, fileKey);
  const made = events.find((e) => e.mask & FanMask.CREATE);
  assert(made, "no FAN_CREATE");
  const dfid = made.fids.find((f) => f.infoType === InfoType.DFID_NAME);
  assertEquals(dfid?.key, dirKey);
  assertEquals([...dfid!.name!], [
    ...new TextEncoder().encode("new"),
    0xff,
    0x20,
    ...new TextEncoder().encode("name"),
  ]);
  for (const e of events) assert(e.pid > 0 && e.fd === -1);
});

Deno.test("fuzz: random bytes and mutated real records never throw, and every name stays inside its record", async () => {
  const { bytes } = await realBytes();
  const real = concat(bytes);
  const seed = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
  const ms = Number(Deno.env.get("BPFINK_FUZZ_MS") ?? 1500);
  const r = rng(seed);
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end; i++) {
    let b: Uint8Array;
    if (i % 2 === 0) {
      b = new Uint8Array(Math.floor(r() * 400));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(r() * 256);
    } else {
      b = real.slice(0, Math.max(0, real.length - Math.floor(r() * 8)));
      for (let m = 0; m < 1 + Math.floor(r() * 6); m++) {
        if (b.length) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      }
    }
    let parsed;
    try {
      parsed = parseFanotify(b);
    } catch (e) {
      throw new Error(`BPFINK_FUZZ_SEED=${seed}, case ${i}: ${e}`);
    }
    for (const e of parsed.events) {
      for (const f of e.fids) {
        assert((f.name?.length ?? 0) < b.length, `BPFINK_FUZZ_SEED=${seed}, case ${i}`);
      }
    }
  }
});

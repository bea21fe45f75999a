import { assert, assertEquals } from "../../test/assert.ts";
import { DIR_MASK, FanMask } from "./fanotify_abi.ts";
import { FanotifyGroup } from "./fanotify_group.ts";
import { FanotifyError, FanotifyReader } from "./fanotify_reader.ts";
import { parseFanotify } from "./fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { nativeLibraryPath } from "../native/native_library.ts";

/** The kernel's limit on a group's queued events (fs.fanotify.max_queued_events). */
const KERNEL_QUEUE = Number(
  Deno.readTextFileSync("/proc/sys/fs/fanotify/max_queued_events").trim(),
);

/** Creates and overflows seen by a group reading `dir`'s entries. */
interface Seen {
  creates: number;
  overflows: number;
}

/**
 * Opens a group on `dir`'s entries, read with a pump of `pumpBytes` (0: none), and creates
 * `n` files in it from this thread without giving the event loop a turn, as a busy agent
 * would; returns what was read once `until` holds (or 10 s passed) and the group.
 */
async function burst(
  dir: string,
  n: number,
  pumpBytes: number,
  until: (s: Seen) => boolean,
): Promise<{ seen: Seen; group: FanotifyGroup }> {
  assert(nativeLibraryPath(), "bpfink-native.so is built (deno run -A build.ts native)");
  const group = FanotifyGroup.open();
  const seen: Seen = { creates: 0, overflows: 0 };
  const id = kernelIdentity.inodeOf(dir, await Deno.lstat(dir));
  assert(group.mark(dir, id, DIR_MASK, "dir"), "the directory was not marked");
  group.start((bytes) => {
    for (const e of parseFanotify(bytes).events) {
      if (e.mask & FanMask.Q_OVERFLOW) seen.overflows++;
      if (e.mask & FanMask.CREATE) seen.creates++;
    }
  }, pumpBytes);
  const empty = new Uint8Array();
  for (let i = 0; i < n; i++) Deno.writeFileSync(`${dir}/f${i}`, empty);
  await waitFor(() => until(seen), 10_000);
  return { seen, group };
}

Deno.test("events made while the main thread is busy, past the kernel's queue, all reach a pumped group; unpumped, the same burst overflows", async () => {
  const n = KERNEL_QUEUE + 4000;
  await using pumpedDir = await tempDir();
  const pumped = await burst(pumpedDir.path, n, 32 << 20, (s) => s.creates >= n || s.overflows > 0);
  try {
    assertEquals(pumped.seen.overflows, 0, "the pumped group overflowed");
    assertEquals(pumped.seen.creates, n, "creates were lost");
    assert(pumped.group.pumpQueue.peak > 0, "the pump queued nothing");
  } finally {
    await pumped.group.close();
  }
  await using plainDir = await tempDir();
  const plain = await burst(plainDir.path, n, 0, (s) => s.overflows > 0);
  try {
    assertEquals(plain.seen.overflows, 1, "the unpumped group did not overflow");
    assert(plain.seen.creates < n, `all ${n} creates were read without the pump`);
  } finally {
    await plain.group.close();
  }
});

Deno.test("a pump's queue holds at most its size: past it the kernel's queue fills and overflows, and the full queue is counted", async () => {
  await using dir = await tempDir();
  const cap = 256 * 1024;
  const { seen, group } = await burst(
    dir.path,
    KERNEL_QUEUE + 8000,
    cap,
    (s) => s.overflows > 0,
  );
  try {
    assertEquals(seen.overflows, 1, "a queue of 256 KiB took every event");
    const q = group.pumpQueue;
    assert(q.peak <= cap, `the queue held ${q.peak} bytes`);
    assert(q.fullWaits > 0, "the full queue was not counted");
  } finally {
    await group.close();
  }
});

Deno.test("a drain hands over what the kernel queued before it, through the pump, before it returns", async () => {
  await using dir = await tempDir();
  assert(nativeLibraryPath(), "bpfink-native.so is built (deno run -A build.ts native)");
  const group = FanotifyGroup.open();
  let creates = 0;
  try {
    const id = kernelIdentity.inodeOf(dir.path, await Deno.lstat(dir.path));
    assert(group.mark(dir.path, id, DIR_MASK, "dir"), "the directory was not marked");
    group.start((bytes) => {
      for (const e of parseFanotify(bytes).events) if (e.mask & FanMask.CREATE) creates++;
    }, 1 << 20);
    for (let i = 0; i < 100; i++) Deno.writeFileSync(`${dir.path}/f${i}`, new Uint8Array());
    assert(group.drain(), "the drain did not empty the queue");
    assertEquals(creates, 100, "the drain left creates behind");
  } finally {
    await group.close();
  }
});

Deno.test("a read that fails through the pump ends the reader with that read's error, and stop() leaves nothing running", async () => {
  assert(nativeLibraryPath(), "bpfink-native.so is built (deno run -A build.ts native)");
  await using dir = await tempDir();
  // A directory's fd polls readable and fails every read (EISDIR), in the pump or here.
  const c = Deno.dlopen(
    "libc.so.6",
    {
      open: { parameters: ["buffer", "i32"], result: "i32" },
      close: { parameters: ["i32"], result: "i32" },
    } as const,
  );
  const O_NONBLOCK_DIRECTORY = 0o4000 | 0o200000;
  const fd = c.symbols.open(new TextEncoder().encode(`${dir.path}\0`), O_NONBLOCK_DIRECTORY);
  assert(fd >= 0, "the directory did not open");
  const reader = new FanotifyReader(fd);
  try {
    reader.start(() => {}, 1 << 20);
    assert(reader.pumped, "no pump read the fd");
    const failed = await reader.done.then(() => undefined, (e) => e);
    assert(failed instanceof FanotifyError, `the loop ended with ${failed}`);
    assertEquals([failed.call, failed.errno], ["read", 21], failed.message);
  } finally {
    await reader.stop();
    c.symbols.close(fd);
    c.close();
  }
});

import { assert, assertEquals } from "../../test/assert.ts";
import { ringRecordBytes } from "../kernel/fim_event.ts";
import type { WatchTarget } from "../watch/watch_targets.ts";
import {
  dirPathEntries,
  placedDirs,
  PUMPED_RING_BYTES,
  RING_SIZED_FOR,
  ringBytesFor,
  ringSplit,
  watchCapacityFor,
} from "./open_kernel.ts";

Deno.test("the ring buffer holds an inode event and a name event for every watched file at once", () => {
  // A rewrite sends an inode event, a rename over the file a name event; each takes its
  // executable's name and its entry's name, and an 8-byte header.
  const { exe, name } = RING_SIZED_FOR;
  const perFile = ringRecordBytes(exe, 0) + ringRecordBytes(exe, name);
  for (const n of [1, 1285, 3000, 10_000, 100_000, 1_000_000]) {
    const bytes = ringBytesFor(n);
    assert(bytes >= n * perFile + 512 * 1024, `${n} files: ${bytes} bytes`);
    assert((bytes & (bytes - 1)) === 0 && bytes >= 4096, `${n} files: ${bytes} is no ring size`);
    assert(
      bytes < 2 * (n * perFile + 512 * 1024) || bytes === 1 << 20,
      `${n} files: ${bytes} is twice what they need`,
    );
  }
});

Deno.test("with the pump, a ring past 4 MiB is a 4 MiB kernel ring and a queue for the rest; a smaller one is the ring alone", () => {
  const big = ringBytesFor(100_000);
  assertEquals(big, 32 << 20);
  assertEquals(ringSplit(big, true), {
    ringBytes: PUMPED_RING_BYTES,
    ringQueueBytes: big - PUMPED_RING_BYTES,
  });
  assertEquals(ringSplit(1 << 20, true), { ringBytes: 1 << 20, ringQueueBytes: 0 });
  assertEquals(ringSplit(PUMPED_RING_BYTES, true), {
    ringBytes: PUMPED_RING_BYTES,
    ringQueueBytes: 0,
  });
  // Without bpfink's native library: the ring alone, whatever its size.
  assertEquals(ringSplit(big, false), { ringBytes: big, ringQueueBytes: 0 });
  // Asked for (tests): a pump of that size beside the ring, where it can run.
  assertEquals(ringSplit(65536, true, 65536), { ringBytes: 65536, ringQueueBytes: 65536 });
  assertEquals(ringSplit(65536, false, 65536), { ringBytes: 65536, ringQueueBytes: 0 });
});

Deno.test("a ring buffer record is its event's head, executable and name, 8-byte aligned, and a header", () => {
  assertEquals(ringRecordBytes(0, 0), 8 + 104);
  assertEquals(ringRecordBytes(4, 0), 8 + 112);
  assertEquals(ringRecordBytes(16, 64), 8 + 184);
  assertEquals(ringRecordBytes(63, 255), 8 + 424);
});

Deno.test("the directory-path map holds four times the keys the start places, and at least the watch map's size", () => {
  // One file: /etc is placed from / and from itself.
  assertEquals(
    dirPathEntries(
      65_536,
      placedDirs([{ path: "/etc/passwd", kind: "file", root: "/etc/passwd" }]),
    ),
    65_536,
  );
  // 100,000 files in 100 directories of one tree: a few hundred keys.
  const tree: WatchTarget[] = [{ path: "/srv/t", kind: "dir", root: "/srv/t", recursive: true }];
  for (let d = 0; d < 100; d++) {
    tree.push({ path: `/srv/t/d${d}`, kind: "dir", root: "/srv/t", recursive: true });
    for (let f = 0; f < 1000; f++) {
      tree.push({
        path: `/srv/t/d${d}/f${f}`,
        kind: "file",
        root: "/srv/t",
        recursive: true,
      });
    }
  }
  const dirs = placedDirs(tree);
  assertEquals(dirs.size, 103, "/, /srv, /srv/t and its 100 directories");
  assertEquals(dirPathEntries(262_144, dirs), 262_144);
  // 30,000 directories nine levels down: 300,000 keys, four times over.
  const deep = Array.from({ length: 30_000 }, (_, i) => `/a/b/c/d/e/f/g/h/d${i}`);
  assertEquals(dirPathEntries(65_536, deep), 1_200_128);
  assert(dirPathEntries(65_536, deep) >= 4 * 30_000 * 10);
});

Deno.test("the directories placed: each watched directory, and every directory above a path, not a shallow entry", () => {
  const dirs = placedDirs([
    { path: "/etc/ssh", kind: "dir", root: "/etc/ssh" },
    { path: "/etc/ssh/sshd_config.d", kind: "dir", root: "/etc/ssh", shallow: true },
    { path: "/root/.ssh/authorized_keys", kind: "file", root: "/root/.ssh/authorized_keys" },
    { path: "/", kind: "dir", root: "/" },
  ]);
  assertEquals([...dirs].sort(), ["/", "/etc", "/etc/ssh", "/root", "/root/.ssh"]);
});

Deno.test("the watch maps hold twice a set that can grow, at least 65,536, and four times a set of files alone", () => {
  const file = (path: string): WatchTarget => ({ path, kind: "file", root: path });
  const files = (n: number) => Array.from({ length: n }, (_, i) => file(`/etc/f${i}`));
  // Files alone: four times them, at least 1,024.
  assertEquals(watchCapacityFor({ targets: [file("/etc/passwd")], missing: [] }), 1024);
  assertEquals(watchCapacityFor({ targets: files(1024), missing: [] }), 4096);
  assertEquals(watchCapacityFor({ targets: files(1025), missing: [] }), 5120);
  // A path not there yet may come as a directory; a directory grows.
  assertEquals(watchCapacityFor({ targets: files(1), missing: [file("/etc/x")] }), 65_536);
  const dir: WatchTarget = { path: "/srv/t", kind: "dir", root: "/srv/t", recursive: true };
  assertEquals(watchCapacityFor({ targets: [dir], missing: [] }), 65_536);
  // A large tree: twice the set, in steps of 4,096 (not the next power of two, 262,144).
  const tree = [dir, ...files(100_100)];
  assertEquals(watchCapacityFor({ targets: tree, missing: [] }), 200_704);
});

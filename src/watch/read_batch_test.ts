import { assertEquals } from "../../test/assert.ts";
import { rng } from "../../test/rng.ts";
import type { FileState } from "./file_state.ts";
import { mayHoldPasswordHash } from "./hash_sniff.ts";
import {
  type PackedItems,
  packItems,
  packResults,
  type ReadItem,
  type ReadResult,
  unpackItems,
  unpackResults,
} from "./read_batch.ts";

/** What a worker's message does to the packed window: a structured clone, buffers moved. */
function trip<T>(value: T, transfer: ArrayBuffer[] = []): T {
  return structuredClone(value, { transfer });
}

Deno.test("read batch: paths of any bytes and the content sizes cross as they were", () => {
  const items: ReadItem[] = [
    { path: "/etc/passwd", keepContentUpTo: 1 << 20 },
    { path: "/tmp/a\nb\tc", keepContentUpTo: 0 },
    { path: "/tmp/päss wd \u{1F600}", keepContentUpTo: 7 },
    { path: "/tmp/\\x00-not-a-nul", keepContentUpTo: 0 },
    { path: "/", keepContentUpTo: 0 },
  ];
  const got = unpackItems(trip<PackedItems>(packItems(9, items)));
  assertEquals(got, items);
  assertEquals(unpackItems(trip(packItems(1, []))), []);
});

/** A state as readFileState() makes one, with random values (and edge values). */
function randomState(r: () => number, i: number): ReadResult {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const kind = i % 7;
  if (kind === 0) return undefined;
  if (kind === 1) return { error: pick(["EACCES: permission denied", "", "é\n\0x"]) };
  const ns = (): bigint =>
    pick([0n, -1_500_000_123n, 1_733_000_000_123_456_789n, BigInt(Math.floor(r() * 1e18))]);
  const mtimeNs = ns();
  const ctimeNs = ns();
  const s: FileState = {
    id: {
      dev: pick([2049, 0, 0xffffffff, Math.floor(r() * 1e6)]),
      ino: pick([1n, 2n ** 63n + 5n, 2n ** 64n - 1n, BigInt(Math.floor(r() * 1e12))]),
    },
    size: pick([0, 1, 2 ** 40 + 3, Math.floor(r() * 1e9)]),
    mode: pick([0o100644, 0o40755, 0o120777, 0o10600]),
    uid: pick([0, 1000, 4294967294]),
    gid: pick([0, 1000, 4294967294]),
    mtimeMs: Number(mtimeNs / 1_000_000n),
    ctimeMs: Number(ctimeNs / 1_000_000n),
    mtimeNs,
    ctimeNs,
    nlink: pick([1, 2, 65000]),
    type: pick(["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"] as const),
  };
  if (kind === 2) s.linkTarget = pick(["../x", "/a\nb", ""]);
  // A birth time where the file system keeps one (negative: before 1970).
  if (r() < 0.7) s.btimeNs = BigInt(Math.floor((r() - 0.1) * 2e9)) * 1_000_000_000n + 7n;
  if (kind !== 2 && r() < 0.8) {
    // A real hex hash, or a string that does not fit the packed form.
    s.sha256 = r() < 0.9
      ? Array.from({ length: 32 }, () => Math.floor(r() * 256).toString(16).padStart(2, "0"))
        .join("")
      : pick(["abc", "x".repeat(63) + "\u{1F600}", "ü".repeat(64)]);
  }
  if (kind === 3) {
    s.content = new Uint8Array(Array.from({ length: i % 50 }, () => r() * 256));
    s.contentHasNul = s.content.includes(0);
    s.contentMayHoldHash = mayHoldPasswordHash(s.content);
  }
  if (kind === 4) s.readError = "not hashed: the file kept changing while it was read";
  // Most files have no extended attributes (""); some do; some could not be read (undefined).
  const attrs = pick(["", "", "", undefined, "acl user::rw-,user:65534:rw-\nflags immutable"]);
  if (attrs !== undefined) s.attrs = attrs;
  return s;
}

Deno.test("read batch: states cross as readFileState made them, field for field", () => {
  const seed = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? 20261205);
  const r = rng(seed);
  for (let round = 0; round < 50; round++) {
    const results = Array.from({ length: 1 + Math.floor(r() * 300) }, (_, i) => randomState(r, i));
    // The expected values, taken before the content buffers are moved away.
    const want = results.map((s) =>
      s && !("error" in s) && s.content ? { ...s, content: new Uint8Array(s.content) } : s
    );
    const { packed, transfer } = packResults(round, results);
    const got = unpackResults(trip(packed, transfer));
    assertEquals(got, want, `seed ${seed}, round ${round}`);
  }
});

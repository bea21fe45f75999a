import { assert, assertEquals } from "../../test/assert.ts";
import { type FileState, withoutContent } from "./file_state.ts";
import { STATE_SLOT_BYTES, StateTable } from "./state_table.ts";

/** A state as a live read gives it (every field known). */
function live(i: number): FileState {
  const ns = 1_764_800_000_123_456_789n + BigInt(i) * 1_000_003n;
  return {
    id: { dev: 0x0080_0001 + i, ino: 1_000_000n + BigInt(i) },
    size: 4096 + i,
    mode: 0o100644,
    uid: i,
    gid: 2 * i,
    mtimeMs: Number(ns / 1_000_000n),
    ctimeMs: Number(ns / 1_000_000n) + 1,
    nlink: 1 + (i % 3),
    mtimeNs: ns,
    ctimeNs: ns + 7n,
    btimeNs: ns - 1_000_000_000n,
    type: "file",
    sha256: (i.toString(16).padStart(8, "0")).repeat(8),
  };
}

Deno.test("a state reads back exactly as it was kept, without its content, as a new object each time", () => {
  const t = new StateTable();
  const s = { ...live(5), content: new Uint8Array([1, 2, 3]) };
  const slot = t.add(s);
  const got = t.get(slot);
  assertEquals(got, withoutContent(s));
  assertEquals(got.content, undefined);
  assert(t.get(slot) !== got, "the same object twice");
  got.size = 1;
  assertEquals(t.get(slot).size, s.size, "changing a read state changed the table");
  assertEquals(t.idOf(slot), s.id);
});

Deno.test("every field can be absent, and the rare ones are kept beside the slot", () => {
  const t = new StateTable();
  const cases: FileState[] = [
    { id: { dev: 0, ino: 0n }, size: 0, mode: 0, uid: 0, gid: 0, mtimeMs: 0 },
    { ...live(1), type: "symlink", linkTarget: "../target\nwith newline", sha256: undefined },
    { ...live(2), readError: "permission denied", sha256: undefined },
    { ...live(3), type: "dir", ctimeMs: undefined, nlink: undefined, mtimeNs: undefined },
    { ...live(4), type: undefined, ctimeNs: undefined },
    { ...live(6), mtimeNs: -5n, mtimeMs: -0.005, size: 2 ** 53 },
  ];
  for (const s of cases) {
    assertEquals(
      t.get(t.add(s)),
      withoutContent(s),
      JSON.stringify(s, (_, v) => typeof v === "bigint" ? `${v}n` : v),
    );
  }
});

Deno.test("what does not pack (out of range, not lowercase hex, not a number) is kept whole", () => {
  const t = new StateTable();
  const odd: FileState[] = [
    { ...live(1), sha256: "ABCDEF".padEnd(64, "0") },
    { ...live(1), sha256: "abc" },
    { ...live(1), uid: -1 },
    { ...live(1), mode: 1.5 },
    { ...live(1), nlink: 2 ** 32 },
    { ...live(1), id: { dev: 1, ino: 1n << 64n } },
    { ...live(1), id: { dev: 1, ino: -1n } },
    { ...live(1), mtimeNs: 1n << 63n },
    { ...live(1), size: null as unknown as number },
    { ...live(1), type: "door" as FileState["type"] },
  ];
  for (const [n, s] of odd.entries()) {
    const slot = t.add(s);
    assertEquals(t.unpacked, n + 1, "packed a state that does not fit");
    assertEquals(t.get(slot), withoutContent(s));
    assertEquals(t.idOf(slot), { dev: s.id.dev, ino: s.id.ino });
  }
  // A slot that held an odd state holds a packed one again, and the other way round.
  const slot = t.add(odd[0]);
  t.set(slot, live(9));
  assertEquals(t.get(slot), withoutContent(live(9)));
  t.set(slot, { ...live(9), linkTarget: "x" });
  t.set(slot, live(10));
  assertEquals(t.get(slot), withoutContent(live(10)), "a link target outlived its state");
});

Deno.test("slots are reused after delete, the arrays grow as states are added, and reserve sizes them once", () => {
  const t = new StateTable();
  const slots = Array.from({ length: 5000 }, (_, i) => t.add(live(i)));
  assertEquals(new Set(slots).size, 5000);
  for (const [i, slot] of slots.entries()) assertEquals(t.get(slot), withoutContent(live(i)));
  t.delete(slots[17]);
  t.delete(slots[4000]);
  assertEquals(t.size, 4998);
  const again = [t.add(live(1)), t.add(live(2))].sort((a, b) => a - b);
  assertEquals(again, [slots[17], slots[4000]].sort((a, b) => a - b));
  assertEquals(t.get(slots[18]), withoutContent(live(18)), "a neighbour changed");
  const r = new StateTable();
  r.reserve(100_000);
  assertEquals(r.bytes, 100_000 * STATE_SLOT_BYTES);
  for (let i = 0; i < 100_000; i++) r.add(live(i % 50));
  assertEquals(r.bytes, 100_000 * STATE_SLOT_BYTES, "grew past what was reserved");
});

Deno.test("stamps are compared without reading the state; one the state does not know matches", () => {
  const t = new StateTable();
  const s = live(3);
  const slot = t.add(s);
  assert(t.sameStamps(slot, s.ctimeNs!, s.mtimeNs!));
  assert(!t.sameStamps(slot, s.ctimeNs! + 1n, s.mtimeNs!));
  assert(!t.sameStamps(slot, s.ctimeNs!, s.mtimeNs! - 1n));
  const noNs = t.add({ ...s, ctimeNs: undefined, mtimeNs: undefined });
  assert(t.sameStamps(noNs, 1n, 2n));
  const odd = t.add({ ...s, uid: -1 });
  assert(t.sameStamps(odd, s.ctimeNs!, s.mtimeNs!));
  assert(!t.sameStamps(odd, s.ctimeNs!, 0n));
});

Deno.test("fuzz: random states, packed or not, read back as kept", () => {
  let seed = 0x2545f491;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  // Mostly values that pack, so that most states do; now and then one that does not.
  const u32s = [0, 1, 0o100644, 2 ** 31, 2 ** 32 - 1];
  const oddNums = [-1, 0.5, 2 ** 32, NaN, -0, 1e300];
  const num = () => rnd() < 0.97 ? pick(u32s) : pick(oddNums);
  const f64 = () => pick([...u32s, -1, 0.5, -0, 1e300, 2 ** 53]);
  const i64s = [0n, 1n, -1n, (1n << 63n) - 1n, -(1n << 63n), 1_764_800_000_123_456_789n];
  const big = () => rnd() < 0.97 ? pick(i64s) : pick([1n << 63n, (1n << 64n) - 1n]);
  const ino = () => rnd() < 0.97 ? pick([0n, 1n, (1n << 64n) - 1n]) : pick([-1n, 1n << 64n]);
  const hex = () =>
    rnd() < 0.9
      ? Array.from({ length: 64 }, () => "0123456789abcdef"[Math.floor(rnd() * 16)]).join("")
      : pick(["", "F".repeat(64), "g".repeat(64), "0".repeat(63)]);
  const t = new StateTable();
  const kept = new Map<number, FileState>();
  for (let n = 0; n < 3000; n++) {
    const s: FileState = {
      id: { dev: num(), ino: ino() },
      size: f64(),
      mode: num(),
      uid: num(),
      gid: num(),
      mtimeMs: f64(),
      ctimeMs: pick([undefined, f64()]),
      nlink: pick([undefined, num()]),
      mtimeNs: pick([undefined, big()]),
      ctimeNs: pick([undefined, big()]),
      btimeNs: pick([undefined, big()]),
      type: pick([undefined, "file", "dir", "symlink", "fifo"] as FileState["type"][]),
      linkTarget: pick([undefined, undefined, undefined, "", "t"]),
      sha256: pick([undefined, hex()]),
      readError: pick([undefined, undefined, undefined, "e"]),
      attrs: pick([undefined, "", "", "flags append", "xattr user.k 0123456789abcdef"]),
    };
    if (kept.size && rnd() < 0.3) {
      const slot = pick([...kept.keys()]);
      if (rnd() < 0.5) {
        t.delete(slot);
        kept.delete(slot);
      } else {
        t.set(slot, s);
        kept.set(slot, s);
      }
    } else kept.set(t.add(s), s);
  }
  for (const [slot, s] of kept) assertEquals(t.get(slot), withoutContent(s));
  assertEquals(t.size, kept.size);
  assert(t.unpacked > 0 && t.unpacked < kept.size / 2, `${t.unpacked} of ${kept.size} kept whole`);
});

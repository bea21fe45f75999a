import { assert, assertEquals } from "../../test/assert.ts";
import { type FimEvent, FimOp } from "../kernel/fim_event.ts";
import {
  type ChurnSummary,
  ITEMIZED_PER_WINDOW,
  MATTERING_PER_WINDOW,
  SAMPLE_MATTERING,
  SAMPLE_NAMES,
  TransientFold,
  WINDOW_MS,
} from "./transient_fold.ts";
import { madeInode, MAX_MATTERING_BEYOND, MAX_NAMES, NameHistories } from "./name_history.ts";

/** A name event by process `tgid` (effective uid `euid`). */
function ev(op: FimOp, name: string, tgid: number, euid: number, ino = 0n): FimEvent {
  return {
    tsNs: 1n,
    ino,
    dirIno: 2n,
    cgroupId: 0n,
    dev: 1,
    op,
    pid: tgid,
    tgid,
    ppid: 1,
    uid: euid,
    euid,
    syscallNr: 0,
    comm: "t",
    name,
    exe: "t",
    startNs: 5n,
  };
}

Deno.test("TransientFold: each user's first names of a window are itemized, the rest counted into one summary", () => {
  let now = 0;
  const out: ChurnSummary[] = [];
  const fold = new TransientFold((s) => out.push(s), { now: () => now });
  const user = (i: number) => ev(FimOp.Create, `u${i}`, 100 + (i % 2), 65534);
  const itemized = Array.from({ length: 1000 }, (_, i) => fold.itemize("/d", `u${i}`, user(i)))
    .filter(Boolean).length;
  assertEquals(itemized, ITEMIZED_PER_WINDOW);
  // Root's name in the same directory has its own share.
  assert(fold.itemize("/d", "drop-in", ev(FimOp.Create, "drop-in", 1, 0)));
  // A name no process was named for has its own share too.
  assert(fold.itemize("/d", "x", undefined));
  // Names known by number only are counted with the unnamed makers' summary.
  fold.countUnnamed("/d", 5);
  now += WINDOW_MS;
  fold.stop();
  assertEquals(out.map((s) => [s.uid, s.names]), [[65534, 1000 - ITEMIZED_PER_WINDOW], [-1, 5]]);
  out.pop();
  assertEquals(out[0].names, 1000 - ITEMIZED_PER_WINDOW);
  assertEquals(out[0].uid, 65534);
  assertEquals(out[0].distinct, 1000 - ITEMIZED_PER_WINDOW);
  assertEquals(out[0].sample.length, SAMPLE_NAMES);
  assertEquals(new Set(out[0].sample).size, SAMPLE_NAMES);
  assert(out[0].sample.every((n) => /^u\d+$/.test(n) && Number(n.slice(1)) >= ITEMIZED_PER_WINDOW));
  assertEquals(out[0].makers.map((m) => m.tgid), [100, 101]);
  assert(!fold.itemize("/d", "late", user(1)), "itemized after stop");
});

Deno.test("TransientFold: a window's summary goes out when it ends, and the next window itemizes again", async () => {
  let now = 0;
  const out: ChurnSummary[] = [];
  const fold = new TransientFold((s) => out.push(s), { now: () => now });
  try {
    for (let i = 0; i <= ITEMIZED_PER_WINDOW; i++) fold.itemize("/d", `n${i}`, undefined);
    now = WINDOW_MS - 1;
    assert(!fold.itemize("/d", "still", undefined));
    // The timer was set for the window's end, from when the first name was folded.
    await new Promise((r) => setTimeout(r, WINDOW_MS + 50));
    assertEquals(out.map((s) => s.names), [2]);
    now = WINDOW_MS + 10;
    assert(fold.itemize("/d", "next", undefined));
  } finally {
    fold.stop();
  }
});

Deno.test("TransientFold: a name a program reads is itemized whatever decoys came before it, once a window", () => {
  let now = 0;
  const out: ChurnSummary[] = [];
  // A draw that never takes a name past the first ones in (the quoted names are then fixed).
  const fold = new TransientFold((s) => out.push(s), { now: () => now, random: () => 0.9999 });
  const by = (name: string) => ev(FimOp.Create, name, 100, 65534);
  for (let i = 0; i < 100; i++) fold.itemize("/d", `decoy${i}`, by(`decoy${i}`));
  assert(fold.itemize("/d", "authorized_keys", by("authorized_keys"), true), "hidden by decoys");
  // Again in the same window: counted, and quoted by name in the summary.
  assert(!fold.itemize("/d", "authorized_keys", by("authorized_keys"), true));
  // Distinct names that matter have a share of their own, bounded too.
  const more = Array.from({ length: 2 * MATTERING_PER_WINDOW }, (_, i) => `job${i}`);
  const itemized = more.filter((n) => fold.itemize("/d", n, by(n), true)).length;
  assertEquals(itemized, MATTERING_PER_WINDOW - 1);
  now += WINDOW_MS;
  fold.stop();
  assertEquals(out.length, 1);
  assertEquals(out[0].readByName[0], "authorized_keys");
  assertEquals(out[0].readByName.length, Math.min(SAMPLE_MATTERING, 1 + more.length - itemized));
  assertEquals(out[0].names, 100 - ITEMIZED_PER_WINDOW + 1 + more.length - itemized);
});

Deno.test("TransientFold: a summary counts distinct names, and quotes others drawn from all of them, not the first", () => {
  const out: ChurnSummary[] = [];
  // A draw that always puts the newest name first: the last distinct name folded is quoted.
  const fold = new TransientFold((s) => out.push(s), { now: () => 0, random: () => 0 });
  for (let i = 0; i < 1000; i++) fold.itemize("/d", `n${i % 100}`, undefined);
  fold.stop();
  assertEquals([out[0].names, out[0].distinct], [1000 - ITEMIZED_PER_WINDOW, 100]);
  assertEquals(out[0].sample.length, SAMPLE_NAMES);
  // n0..n7 were itemized first, then folded in the second round: n7 was the last new name.
  assertEquals(out[0].sample[0], "n7");
});

Deno.test("TransientFold: a name found still there past the share waits for the window's end, and is counted if gone", () => {
  const out: ChurnSummary[] = [];
  const fold = new TransientFold((s) => out.push(s), { now: () => 0 });
  const by = ev(FimOp.Create, "x", 100, 65534);
  // Not past the share yet: reported at once.
  assert(!fold.defer("/d", "early", by, false, () => true));
  for (let i = 0; i <= ITEMIZED_PER_WINDOW; i++) fold.itemize("/d", `t${i}`, by);
  let settled = 0;
  assert(fold.defer("/d", "gone", by, false, () => (settled++, false)));
  assert(fold.defer("/d", "kept", by, false, () => (settled++, true)));
  // A name a program reads is never held back.
  assert(!fold.defer("/d", "authorized_keys", by, true, () => true));
  // Another user's share is their own.
  assert(!fold.defer("/d", "other", ev(FimOp.Create, "x", 1, 0), false, () => true));
  fold.stop();
  assertEquals(settled, 2);
  assertEquals([out[0].names, out[0].sample.sort()], [2, ["gone", "t8"]]);
});

Deno.test("NameHistories: the first event that made a name and the latest that removed it", () => {
  const h = new NameHistories((e) => `${e.tgid}`);
  const made = ev(FimOp.Create, "x", 7, 0, 42n);
  const renamedOver = ev(FimOp.Rename, "x", 8, 0);
  const gone = ev(FimOp.Unlink, "x", 9, 0);
  h.note(made);
  h.note(renamedOver);
  h.note(gone);
  const x = h.get("x")!;
  assertEquals([x.made, x.removed, x.latest, x.events], [made, gone, gone, 3]);
  assertEquals(madeInode(x.made), 42n);
  assertEquals(madeInode(renamedOver), undefined);
  assertEquals(madeInode({ ...made, via: "fanotify" }), undefined);
  // Only removed: no make known here.
  h.note(ev(FimOp.Unlink, "y", 9, 0));
  assertEquals(h.get("y")!.made, undefined);
  for (let i = 0; i < MAX_NAMES + 10; i++) h.note(ev(FimOp.Create, `n${i}`, 1, 0));
  assertEquals([h.size, h.overflow], [MAX_NAMES, 12]);
});

Deno.test("NameHistories: past MAX_NAMES decoys, a name that matters is still kept by name", () => {
  const h = new NameHistories((e) => `${e.tgid}`, (name) => name === "authorized_keys");
  for (let i = 0; i < MAX_NAMES + 10; i++) h.note(ev(FimOp.Create, `n${i}`, 1, 65534));
  h.note(ev(FimOp.Create, "authorized_keys", 2, 65534));
  h.note(ev(FimOp.Unlink, "authorized_keys", 2, 65534));
  assertEquals(h.get("authorized_keys")?.events, 2);
  assertEquals(h.overflow, 10);
  // Bounded too.
  const all = new NameHistories((e) => `${e.tgid}`, () => true);
  for (let i = 0; i < MAX_NAMES + 2 * MAX_MATTERING_BEYOND; i++) {
    all.note(ev(FimOp.Create, `n${i}`, 1, 0));
  }
  assertEquals(all.size, MAX_NAMES + MAX_MATTERING_BEYOND);
});

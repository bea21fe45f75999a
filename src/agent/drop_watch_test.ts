import { assert, assertEquals } from "../../test/assert.ts";
import { FimOp, type PendingWriter } from "../kernel/fim_event.ts";
import { type InodeId, inodeKeyString } from "../watch/inode_key.ts";
import { NS_PER_TICK, startTicksOf } from "../watch/process_details.ts";
import {
  type DropCounter,
  type DroppedCauses,
  type DropRescan,
  DropWatch,
  HELD_FRESH_MS,
} from "./drop_watch.ts";

/**
 * A kernel whose drop counters and held entries the test sets; this process is the writer.
 * `rearmed` records each re-arm: an inode's key, or "all".
 */
function kernel() {
  const k = {
    dropped: 0n,
    unheld: 0n,
    held: [] as { id: InodeId; writers: PendingWriter[] }[],
    rearmed: [] as string[],
    drops: () => k.dropped,
    unheldDrops: () => k.unheld,
    rearm: (id: InodeId) => {
      k.rearmed.push(inodeKeyString(id));
      k.held = k.held.filter((h) => inodeKeyString(h.id) !== inodeKeyString(id));
    },
    rearmAll: () => {
      k.rearmed.push("all");
      k.held = [];
    },
    heldWriters: () => k.held,
    exited: () => undefined,
  };
  return k satisfies DropCounter;
}

/** A rescan that records what it was asked for; `known` says whether it finds a watch at `only`. */
function rescanner(known = true) {
  const asked: { causes: DroppedCauses; only?: string[] }[] = [];
  const rescan: DropRescan = (causes, only) => {
    asked.push({ causes, only: only?.map(inodeKeyString) });
    return only ? (known ? only.length : undefined) : 100;
  };
  return { asked, rescan };
}

const DIR: InodeId = { dev: 8, ino: 42n };
const OTHER: InodeId = { dev: 8, ino: 43n };
const startNs = () => startTicksOf(Deno.readTextFileSync("/proc/self/stat"))! * NS_PER_TICK;

Deno.test("a listing asks for the processes the kernel kept for its directory once the drops are checked", async () => {
  const k = kernel();
  const rescans: DroppedCauses[] = [];
  const drops = new DropWatch(k, (c) => rescans.push(c), 20);
  k.unheld = 1n; // the drop below held nothing: every watch is rescanned
  try {
    // Nothing dropped: nothing to wait for.
    assertEquals(drops.heldFor(DIR), undefined);
    // An entry event of this process about DIR was dropped, not checked yet.
    k.dropped = 1n;
    k.held = [{ id: DIR, writers: [{ tgid: Deno.pid, startNs: startNs(), ops: [FimOp.Create] }] }];
    const asked = drops.heldFor(DIR);
    assert(asked, "unchecked drops: the listing must wait for the check");
    const held = await asked;
    assertEquals(rescans.length, 1, "the check rescanned");
    assertEquals(held.map((e) => [e.tgid, e.op]), [[Deno.pid, FimOp.Create]]);
    assertEquals(rescans[0].get(inodeKeyString(DIR))?.map((e) => e.tgid), [Deno.pid]);
    // Checked: a listing just after takes them without a wait, another directory gets none.
    assertEquals((await drops.heldFor(DIR))?.map((e) => e.tgid), [Deno.pid]);
    assertEquals(drops.heldFor(OTHER), undefined);
  } finally {
    drops.stop();
  }
});

Deno.test("a held process is a cause of each kind of operation it did; what a check found held goes stale; a stop answers the listings waiting", async () => {
  const k = kernel();
  const drops = new DropWatch(k, () => {}, 20);
  k.dropped = 1n;
  // A process that made entries and removed others: a cause of both.
  k.held = [{
    id: DIR,
    writers: [{ tgid: Deno.pid, startNs: startNs(), ops: [FimOp.Unlink, FimOp.Create] }],
  }];
  assertEquals((await drops.heldFor(DIR))?.map((e) => e.op), [FimOp.Unlink, FimOp.Create]);
  assertEquals(drops.heldNamed, 1, "one writer named");
  await new Promise((r) => setTimeout(r, HELD_FRESH_MS + 50));
  assertEquals(drops.heldFor(DIR), undefined, "a check long past still offered its processes");
  // Dropped again; the agent stops before the check: the listing is answered, with none.
  k.dropped = 2n;
  const waiting = drops.heldFor(DIR);
  drops.stop();
  assertEquals(await waiting, []);
});

Deno.test("drops that were all held rescan only the held inodes, each re-armed; any other drop rescans every watch, all re-armed", () => {
  const k = kernel();
  const { asked, rescan } = rescanner();
  const drops = new DropWatch(k, rescan, 20);
  try {
    // Two drops, both held: a write to OTHER (no writer kept) and an entry event in DIR.
    k.dropped = 2n;
    k.held = [
      { id: DIR, writers: [{ tgid: Deno.pid, startNs: startNs(), ops: [FimOp.Create] }] },
      { id: OTHER, writers: [] },
    ];
    drops.check();
    assertEquals(asked.map((a) => a.only), [[inodeKeyString(DIR), inodeKeyString(OTHER)]]);
    assertEquals(asked[0].causes.get(inodeKeyString(DIR))?.map((e) => e.tgid), [Deno.pid]);
    assertEquals(k.rearmed, [inodeKeyString(DIR), inodeKeyString(OTHER)]);
    assertEquals([drops.rescans, drops.heldRescans, drops.rescannedWatches], [1, 1, 2]);
    // Two more drops, one held: the other (a full pending map, a mount...) left nothing to go by.
    k.dropped = 4n;
    k.unheld = 1n;
    k.held = [{ id: DIR, writers: [] }];
    drops.check();
    assertEquals(asked[1].only, undefined);
    assertEquals(k.rearmed.slice(2), ["all"]);
    assertEquals([drops.rescans, drops.heldRescans, drops.rescannedWatches], [2, 1, 102]);
    // Nothing new: no rescan.
    drops.check();
    assertEquals(asked.length, 2);
  } finally {
    drops.stop();
  }
});

Deno.test("held drops whose inode no watch is at rescan every watch", () => {
  const k = kernel();
  const { asked, rescan } = rescanner(false);
  const drops = new DropWatch(k, rescan, 20);
  try {
    k.dropped = 1n;
    k.held = [{ id: OTHER, writers: [] }];
    drops.check();
    // Asked for OTHER alone, which no watch is at: then for every watch.
    assertEquals(asked.map((a) => a.only), [[inodeKeyString(OTHER)], undefined]);
    assertEquals(k.rearmed, [inodeKeyString(OTHER), "all"]);
    assertEquals([drops.rescans, drops.heldRescans], [1, 0]);
  } finally {
    drops.stop();
  }
});

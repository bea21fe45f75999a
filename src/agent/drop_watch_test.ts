import { assert, assertEquals } from "../../test/assert.ts";
import { FimOp, type PendingWriter } from "../kernel/fim_event.ts";
import { type InodeId, inodeKeyString } from "../watch/inode_key.ts";
import { NS_PER_TICK, startTicksOf } from "../watch/process_details.ts";
import { type DropCounter, type DroppedCauses, DropWatch, HELD_FRESH_MS } from "./drop_watch.ts";

/** A kernel whose drop counter and held entries the test sets; this process is the writer. */
function kernel() {
  const k = {
    dropped: 0n,
    held: [] as { id: InodeId; writers: PendingWriter[] }[],
    drops: () => k.dropped,
    rearmAll: () => {
      k.held = [];
    },
    heldWriters: () => k.held,
    exited: () => undefined,
  };
  return k satisfies DropCounter;
}

const DIR: InodeId = { dev: 8, ino: 42n };
const OTHER: InodeId = { dev: 8, ino: 43n };
const startNs = () => startTicksOf(Deno.readTextFileSync("/proc/self/stat"))! * NS_PER_TICK;

Deno.test("a listing asks for the processes the kernel kept for its directory once the drops are checked", async () => {
  const k = kernel();
  const rescans: DroppedCauses[] = [];
  const drops = new DropWatch(k, (c) => rescans.push(c), 20);
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

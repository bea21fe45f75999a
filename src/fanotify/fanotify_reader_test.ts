import { assert, assertEquals } from "../../test/assert.ts";
import { DIR_MASK, FanMask } from "./fanotify_abi.ts";
import { FanotifyGroup } from "./fanotify_group.ts";
import { parseFanotify } from "./fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";
import { LoopTurns } from "../../test/loop_turns.ts";

/** Spins for `ms` on this thread, as handling a slow event does. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

for (const [how, pumpBytes] of [["pumped", 32 << 20], ["read here", 0]] as const) {
  Deno.test(`fanotify reader (${how}): a backlog is handed over a slice at a time, whole events in order, the event loop turning between`, async () => {
    await using dir = await tempDir();
    const group = FanotifyGroup.open();
    try {
      const id = kernelIdentity.inodeOf(dir.path, await Deno.lstat(dir.path));
      assert(group.mark(dir.path, id, DIR_MASK, "dir"), "the directory was not marked");
      const loop = new LoopTurns();
      loop.start();
      const names: string[] = [];
      group.start((bytes) => {
        const { events, malformed } = parseFanotify(bytes);
        assert(!malformed, "a piece did not hold whole events");
        for (const e of events) {
          const name = e.fids.find((f) => f.name)?.name;
          if (e.mask & FanMask.CREATE && name) names.push(new TextDecoder().decode(name));
        }
        loop.note(events.length);
        // 0.1 ms an event: a wake-up's 4 reads of 64 KiB (about 5,000 events) were 0.5 s.
        spin(events.length * 0.1);
      }, pumpBytes);
      // Made while this thread does not read: they wait in the kernel's queue (and the pump's).
      const n = 6000;
      const empty = new Uint8Array();
      for (let i = 0; i < n; i++) Deno.writeFileSync(`${dir.path}/f${i}`, empty);
      assert(await waitFor(() => names.length >= n, 20_000), `${names.length} of ${n} creates`);
      loop.stop();
      assertEquals(names, Array.from({ length: n }, (_, i) => `f${i}`), "in order, none lost");
      // What one turn was handed: about 25 ms of handling (250 events here) and one piece more.
      assert(loop.most <= 1000, `${loop.most} events handed over in one turn of the event loop`);
      assert(loop.turns >= 8, `all ${n} handed over in ${loop.turns} turns`);
    } finally {
      await group.close();
    }
  });
}

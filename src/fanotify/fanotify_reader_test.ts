import { assert, assertEquals } from "../../test/assert.ts";
import { DIR_MASK, FanMask } from "./fanotify_abi.ts";
import { FanotifyGroup } from "./fanotify_group.ts";
import { parseFanotify } from "./fanotify_records.ts";
import { tempDir, waitFor } from "../../test/helpers.ts";
import { kernelIdentity } from "../kernel/kernel_identity.ts";

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
      // The event loop's turns, counted by a timer that runs once a turn while it is due.
      let turn = 0;
      let counting = true;
      const tick = () => {
        turn++;
        if (counting) setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      const handed: { turn: number; events: number }[] = [];
      const names: string[] = [];
      group.start((bytes) => {
        const { events, malformed } = parseFanotify(bytes);
        assert(!malformed, "a piece did not hold whole events");
        for (const e of events) {
          const name = e.fids.find((f) => f.name)?.name;
          if (e.mask & FanMask.CREATE && name) names.push(new TextDecoder().decode(name));
        }
        handed.push({ turn, events: events.length });
        // 0.1 ms an event: a wake-up's 4 reads of 64 KiB (about 5,000 events) were 0.5 s.
        spin(events.length * 0.1);
      }, pumpBytes);
      // Made while this thread does not read: they wait in the kernel's queue (and the pump's).
      const n = 6000;
      const empty = new Uint8Array();
      for (let i = 0; i < n; i++) Deno.writeFileSync(`${dir.path}/f${i}`, empty);
      assert(await waitFor(() => names.length >= n, 20_000), `${names.length} of ${n} creates`);
      counting = false;
      assertEquals(names, Array.from({ length: n }, (_, i) => `f${i}`), "in order, none lost");
      // What one turn was handed: about 25 ms of handling (250 events here) and one piece more.
      const perTurn = new Map<number, number>();
      for (const h of handed) perTurn.set(h.turn, (perTurn.get(h.turn) ?? 0) + h.events);
      const most = Math.max(...perTurn.values());
      assert(most <= 1000, `${most} events handed over in one turn of the event loop`);
      assert(perTurn.size >= 8, `all ${n} handed over in ${perTurn.size} turns`);
    } finally {
      await group.close();
    }
  });
}

/**
 * The event history (`bpfink events`, table event_history) on a full disk:
 * the events it cannot keep are counted (output="history" sink metrics), it
 * is on the fault board while it fails, and once space returns it catches up
 * (each event kept once, in the order reported, not marked redelivered).
 */
import { assert, assertEquals } from "../assert.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import { run } from "../helpers.ts";
import { DatabaseSync } from "node:sqlite";
import { assertNoStackTrace, smallTmpfs } from "./fault_helpers.ts";

Deno.test({
  name: "faults: events written during a full disk are counted and caught up in the history",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    await using state = await smallTmpfs(dir.path, "4m");
    const watched = `${dir.path}/app.conf`;
    await Deno.writeTextFile(watched, "v=0\n");
    const port = freePort();
    const config = `${dir.path}/config.yaml`;
    await Deno.writeTextFile(
      config,
      `watches:\n  - ${watched}\ndatabase: ${state.path}/bpfink.db\n` +
        `key_file: ${dir.path}/hmac/hmac.key\nlog_level: info\nstrategy: tracepoint\n` +
        `outputs:\n  - type: stdout\n    format: json\n` +
        `metrics:\n  prometheus:\n    listen: 127.0.0.1:${port}\n`,
    );
    const scrape = async () => {
      try {
        return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      } catch {
        return "";
      }
    };
    const ours = (d: Daemon) => d.changes().filter((e) => e.file?.path === watched);
    const daemon = new Daemon(config);
    try {
      await daemon.started();
      const fill = await run(["dd", "if=/dev/zero", `of=${state.path}/filler`, "bs=64k"]);
      assert(fill.code !== 0, "dd filled the tmpfs");
      for (let i = 1; i <= 20; i++) {
        await Deno.writeTextFile(watched, `v=${i}\n` + `line ${i} `.repeat(8000) + "\n");
        // At least one event each (a read between the truncation and the write makes two).
        assert(await waitFor(() => ours(daemon).length >= i, 10_000), daemon.stderr);
      }
      const during = await scrape();
      assert(/^bpfink_sink_dropped_total\{output="history"\} [1-9]/m.test(during), during);
      assert(during.includes('bpfink_accessory_failing{part="output history"} 1'), during);

      await Deno.remove(`${state.path}/filler`);
      let after = "";
      for (let t = 0; t < 300; t++) {
        after = await scrape();
        if (after.includes('bpfink_accessory_failing{part="output history"} 0')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert(after.includes('bpfink_accessory_failing{part="output history"} 0'), after);
      assert(/^bpfink_redelivery_pending 0$/m.test(after), after);
    } finally {
      assertEquals(await daemon.stop(), 0, daemon.stderr);
    }
    assertNoStackTrace(daemon.stderr);
    const db = new DatabaseSync(`${state.path}/bpfink.db`, { readOnly: true });
    try {
      const rows = db.prepare("SELECT id, event FROM event_history ORDER BY seq").all() as {
        id: string;
        event: string;
      }[];
      const reported = ours(daemon).map((e) => e.event.id);
      const kept = rows.map((r) => r.id).filter((id) => reported.includes(id));
      assertEquals(kept, reported, "the history misses or reorders events");
      assert(!rows.some((r) => JSON.parse(r.event).bpfink?.redelivered), "kept as redelivered");
    } finally {
      db.close();
    }
  },
});

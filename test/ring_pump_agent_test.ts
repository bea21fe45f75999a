/**
 * The agent reads a ring sized past 4 MiB through the ring buffer's pump: a
 * 4 MiB kernel ring and a queue for the rest (src/agent/open_kernel.ts'
 * ringSplit), and its changes arrive through the queue naming their writer,
 * also while the agent's thread is blocked. Real BPF, a real shell, the real
 * agent. Needs root.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, metricValue, tempDir, waitFor } from "./helpers.ts";
import { PUMPED_RING_BYTES } from "../src/agent/open_kernel.ts";

Deno.test("an agent whose ring is sized past 4 MiB reads it through the pump: writes made while its thread is blocked are reported, naming the writer", async () => {
  await using dir = await tempDir();
  const files: string[] = [];
  for (let i = 0; i < 200; i++) {
    files.push(`${dir.path}/f${i}.conf`);
    await Deno.writeTextFile(files[i], "a=1\n");
  }
  const out = new CaptureOutput();
  // As ringBytesFor sizes the ring of about 25,000 watched paths.
  const agent = await Agent.start({
    watches: watchesForPaths(files),
    outputs: [out],
    ringBytes: 8 << 20,
  });
  try {
    assertEquals(agent.kernel.ringBytes, PUMPED_RING_BYTES, "the kernel's ring");
    assertEquals(
      metricValue(agent, "bpfink_ringbuf_queue_size_bytes"),
      (8 << 20) - PUMPED_RING_BYTES,
    );
    // This thread blocked while the shell appends to every file: the pump takes the events.
    const sh = new Deno.Command("sh", {
      args: ["-c", 'for f in "$@"; do echo b=2 >> "$f"; done; echo $$', "sh", ...files],
    }).outputSync();
    assert(sh.success, new TextDecoder().decode(sh.stderr));
    const pid = Number(new TextDecoder().decode(sh.stdout).trim());
    assert(
      await waitFor(() => files.every((f) => out.changes(f).length > 0), 10_000),
      `${files.filter((f) => out.changes(f).length === 0).length} of 200 changes unreported`,
    );
    const unnamed = files.filter((f) => !out.changes(f).some((e) => e.process?.pid === pid));
    assertEquals(unnamed, [], "changes reported without the shell that made them");
    assert(
      metricValue(agent, "bpfink_ringbuf_queue_peak_bytes") > 0,
      "no event went through the pump's queue",
    );
    assertEquals(metricValue(agent, "bpfink_ringbuf_drops_total"), 0);
  } finally {
    await agent.stop();
  }
});

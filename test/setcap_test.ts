/**
 * `setcap cap_setuid+ep` on a watched binary: as good as a setuid-root file,
 * with its mode untouched. Reported high, with the capabilities as getcap
 * names them, and the process that set them.
 */
import { assert, assertEquals } from "./assert.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";

Deno.test("file capabilities set on a watched binary are high, named as getcap names them", async () => {
  await using d = await tempDir();
  const f = `${d.path}/python3`;
  await Deno.copyFile("/usr/bin/true", f);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    const r = await run(["setcap", "cap_setuid+ep", f]);
    assertEquals(r.code, 0, r.stderr);
    assert(await waitFor(() => out.changes(f).length > 0, 5000), "setcap not reported");
    const e = out.changes(f)[0];
    assertEquals(e.event.action, "attributes_changed");
    const changes = (e.bpfink?.changes ?? []) as { field: string; to?: unknown }[];
    assertEquals(changes.find((c) => c.field === "capabilities")?.to, "cap_setuid=ep");
    assertEquals(e.bpfink?.severity, "high");
    assertEquals(e.process?.name, "setcap");
    // Taken away again: reported, not high.
    await run(["setcap", "-r", f]);
    assert(await waitFor(() => out.changes(f).length > 1, 5000), "setcap -r not reported");
    const removed = (out.changes(f)[1].bpfink?.changes ?? []) as { field: string; to?: unknown }[];
    assertEquals(removed.find((c) => c.field === "capabilities")?.to, "none");
  } finally {
    await agent.stop();
  }
});

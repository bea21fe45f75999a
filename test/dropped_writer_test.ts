/**
 * Events dropped by a full ring buffer still name their process: the kernel
 * keeps each dropped inode event's writers in its pending entry, and the
 * rescan the drop causes reports every changed file with them. Real BPF, a
 * real shell, a 4 KiB ring that this thread leaves unread while the shell
 * writes (a synchronous spawn). fanotify is off, so the BPF object alone
 * names processes. Needs root.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, tempDir, waitFor } from "./helpers.ts";

Deno.test("a full ring buffer's dropped writes are reported by the rescan naming their writer", async () => {
  await using dir = await tempDir();
  const files: string[] = [];
  for (let i = 0; i < 60; i++) {
    files.push(`${dir.path}/f${i}.conf`);
    await Deno.writeTextFile(files[i], "a=1\n");
  }
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths(files),
    outputs: [out],
    ringBytes: 4096,
    fanotify: false,
    dropCheckMs: 50,
  });
  try {
    const sh = new Deno.Command("sh", {
      args: ["-c", 'for f in "$@"; do echo b=2 >> "$f"; done; echo $$', "sh", ...files],
    }).outputSync();
    assert(sh.success, new TextDecoder().decode(sh.stderr));
    const pid = Number(new TextDecoder().decode(sh.stdout).trim());
    assert(
      await waitFor(() => files.every((f) => out.changes(f).length > 0), 10_000),
      `${files.filter((f) => out.changes(f).length === 0).length} of 60 changes unreported`,
    );
    assert(agent.rescans > 0, "the 4 KiB ring held all 60 events: the test needs a drop");
    const unnamed = files.filter((f) => !out.changes(f).some((e) => e.process?.pid === pid));
    assertEquals(unnamed, [], "changes reported without the shell that made them");
  } finally {
    await agent.stop();
  }
});

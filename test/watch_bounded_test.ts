/**
 * The agent's state stays bounded under churn: files made and removed in a
 * watched directory, faster than it reads them, leave nothing behind in the
 * watched tree (nor in the kernel's name map that mirrors it). Real BPF,
 * real files, a real shell. Needs root.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir } from "./helpers.ts";

Deno.test("files created and removed before the agent reads them leave no watch entry behind", async () => {
  await using dir = await tempDir();
  for (let i = 0; i < 5; i++) await Deno.writeTextFile(`${dir.path}/f${i}.conf`, "v=0\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([dir.path], true),
    outputs: [out],
  });
  try {
    const before = agent.watch.entries().map((e) => e.path).sort();
    // Each file lives about as long as it takes to start rm: the agent lists the directory
    // while some exist and reads them after they are gone.
    const churn = await run([
      "sh",
      "-c",
      'for i in $(seq 400); do echo x > "$1/churn-$i.tmp"; rm "$1/churn-$i.tmp"; done',
      "sh",
      dir.path,
    ]);
    assertEquals(churn.code, 0, churn.stderr);
    // Settle: nothing left to read, twice in a row (a listing may queue more reads).
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await agent.idle();
    }
    const seen = out.changes().filter((e) => e.file?.path?.includes("churn-")).length;
    assert(seen > 0, "the agent saw none of the churn: the test proves nothing");
    assertEquals(agent.watch.entries().map((e) => e.path).sort(), before);
  } finally {
    await agent.stop();
  }
});

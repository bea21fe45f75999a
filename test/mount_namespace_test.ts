/**
 * Mounts against the agent's own mount table: only a mount that changed it
 * can move what a watched path names, so only such a mount makes the agent
 * look every watched path up again. One in a mount namespace of its own (a
 * container's, a systemd unit's) leaves it alone.
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, metricValue, run, tempDir, waitFor } from "./helpers.ts";

Deno.test("mounts: one in a private mount namespace looks nothing up; one in the agent's looks every path up", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/conf`, "x\n");
  await Deno.mkdir(`${dir.path}/m`);
  const agent = await Agent.start({
    watches: watchesForPaths([`${dir.path}/conf`]),
    outputs: [new CaptureOutput()],
  });
  let mounted = false;
  try {
    const elsewhere = () => metricValue(agent, "bpfink_mounts_elsewhere_total");
    const rechecks = () => metricValue(agent, "bpfink_mount_rechecks_total");
    // Root in a mount namespace of its own, made private: nothing it mounts reaches the host.
    // Another test's mount on the host at the same moment changes the agent's table too, so
    // the private mount is tried until one is told apart (at most 5 times).
    let toldApart = false;
    for (let i = 0; i < 5 && !toldApart; i++) {
      const before = elsewhere();
      const r = await run([
        "unshare",
        "-m",
        "--propagation",
        "private",
        "mount",
        "-t",
        "tmpfs",
        "none",
        `${dir.path}/m`,
      ]);
      assert(r.code === 0, r.stderr);
      toldApart = await waitFor(() => elsewhere() > before, 1000);
      // The kernel folds mount events for 200 ms: let the next one through.
      await new Promise((r) => setTimeout(r, 300));
    }
    assert(toldApart, `a private namespace's mount made the agent look up every path`);
    // The control: a mount in the agent's own namespace.
    const before = rechecks();
    const m = await run(["mount", "-t", "tmpfs", "none", `${dir.path}/m`]);
    assert(m.code === 0, m.stderr);
    mounted = true;
    assert(
      await waitFor(() => rechecks() > before),
      "a mount in the agent's namespace was not looked into",
    );
  } finally {
    if (mounted) await run(["umount", `${dir.path}/m`]);
    await agent.stop();
  }
});

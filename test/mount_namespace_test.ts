/**
 * Mounts against the agent's own mount table: only a mount that changed it
 * can move what a watched path names, and only at or below its mount point,
 * so only such a mount makes the agent look watched paths up again, and only
 * those. One in a mount namespace of its own (a container's, a systemd
 * unit's) leaves the table alone.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, metricValue, run, tempDir, waitFor } from "./helpers.ts";

Deno.test("mounts: one in a private mount namespace looks nothing up; one in the agent's looks up what is under it", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/conf`, "x\n");
  await Deno.mkdir(`${dir.path}/m`);
  const agent = await Agent.start({
    watches: watchesForPaths([`${dir.path}/conf`]),
    outputs: [new CaptureOutput()],
  });
  const mounted: string[] = [];
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
    // A mount in the agent's own namespace changes its table: only what is under it is looked up.
    const before = rechecks();
    const lookups = metricValue(agent, "bpfink_mount_lookups_total");
    const m = await run(["mount", "-t", "tmpfs", "none", `${dir.path}/m`]);
    assert(m.code === 0, m.stderr);
    mounted.unshift(`${dir.path}/m`);
    assert(
      await waitFor(() => rechecks() > before),
      "a mount in the agent's namespace was not looked into",
    );
    assertEquals(
      metricValue(agent, "bpfink_mount_lookups_total"),
      lookups,
      "a mount beside the watched file made the agent look it up",
    );
    // A mount over the watched file's directory: the file is looked up.
    const over = await run(["mount", "--bind", dir.path, dir.path]);
    assert(over.code === 0, over.stderr);
    mounted.unshift(dir.path);
    assert(
      await waitFor(() => metricValue(agent, "bpfink_mount_lookups_total") > lookups),
      "a mount over the watched file's directory did not look the file up",
    );
  } finally {
    for (const m of mounted) await run(["umount", m]);
    await agent.stop();
  }
});

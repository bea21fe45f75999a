/**
 * A watched path is watched as what it is now: a recursive watch whose
 * directory is missing at start has its contents watched once it is made,
 * and a watched directory replaced by a regular file has that file's writes
 * reported (real agent, real mkdir, mv and shell appends).
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, changesShown, shIn, tempDir, waitFor } from "./helpers.ts";

async function withTreeAgent(
  files: string[],
  trees: string[],
  fn: (agent: Agent, out: CaptureOutput) => Promise<void>,
): Promise<void> {
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: [...watchesForPaths(files), ...watchesForPaths(trees, true)],
    outputs: [out],
  });
  try {
    await fn(agent, out);
  } finally {
    await agent.stop();
  }
}

const sh = shIn;
const shown = changesShown;

const seen = (out: CaptureOutput, path: string, action: string) =>
  out.changes(path).some((e) => e.event.action === action);

Deno.test("a recursive watch missing at start: once made, what is made in it and its subdirectories is reported live", async () => {
  await using dir = await tempDir();
  const w = `${dir.path}/w`;
  await Deno.mkdir(w);
  await Deno.writeTextFile(`${w}/keep`, "k\n");
  const later = `${w}/laterdir`;
  await withTreeAgent([`${w}/keep`], [later], async (agent, out) => {
    await sh("mkdir -p w/laterdir/sub && echo x > w/laterdir/sub/x.conf", dir.path);
    assert(
      await waitFor(() => seen(out, `${later}/sub/x.conf`, "created"), 5000),
      `x.conf in the new tree not reported: ${
        JSON.stringify(out.changes().map((e) => [e.event.action, e.file?.path]))
      }`,
    );
    assert(seen(out, later, "created") && seen(out, `${later}/sub`, "created"));
    const pid = await sh("echo more >> w/laterdir/sub/x.conf", dir.path);
    assert(
      await waitFor(() => seen(out, `${later}/sub/x.conf`, "modified"), 5000),
      "an append to x.conf not reported",
    );
    const mod = out.changes(`${later}/sub/x.conf`).find((e) => e.event.action === "modified")!;
    assertEquals(mod.process?.pid, pid);
    await sh("echo t > w/laterdir/top.conf", dir.path);
    assert(
      await waitFor(() => seen(out, `${later}/top.conf`, "created"), 5000),
      "top.conf not reported",
    );
    await agent.idle();
    const n = out.changes().length;
    await agent.reconcile();
    assertEquals(out.changes().slice(n), [], "a reconcile found what the live path missed");
  });
});

Deno.test("a watched directory replaced by a regular file: the file's writes are reported live, the old contents as deleted", async () => {
  await using dir = await tempDir();
  const w = `${dir.path}/w`;
  const real = `${w}/realdir`;
  await Deno.mkdir(real, { recursive: true });
  await Deno.writeTextFile(`${real}/a.conf`, "a\n");
  await withTreeAgent([], [real], async (agent, out) => {
    await sh("mv w/realdir w/realdir.old2 && echo 'now a file' > w/realdir", dir.path);
    // Replaced, or deleted (by mv) and created (by sh) when the agent read between the two.
    const file = () =>
      out.changes(real).find((e) =>
        ["replaced", "created"].includes(e.event.action) && e.file?.type === "file"
      );
    assert(await waitFor(() => file() !== undefined, 5000), `not reported: ${shown(out)}`);
    assert(
      await waitFor(() => seen(out, `${real}/a.conf`, "deleted"), 5000),
      "a.conf, gone from the path, not reported",
    );
    for (let i = 1; i <= 2; i++) {
      const pid = await sh("echo mod >> w/realdir", dir.path);
      assert(
        await waitFor(
          () => out.changes(real).filter((e) => e.event.action === "modified").length === i,
          5000,
        ),
        `append ${i} to the file at the directory's path not reported`,
      );
      assertEquals(out.changes(real).at(-1)?.process?.pid, pid);
    }
    // The old directory is not watched under its old name any more.
    await sh("echo x >> w/realdir.old2/a.conf", dir.path);
    await new Promise((r) => setTimeout(r, 300));
    await agent.idle();
    assertEquals(out.changes(`${real}/a.conf`).map((e) => e.event.action), ["deleted"]);
  });
});

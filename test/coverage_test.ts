/**
 * Every way a file can change that bpfink catches live on this kernel: each
 * row is a real tool or syscall run against its own watched file, and must
 * give the expected event naming the process.
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { sha256File } from "../src/watch/file_state.ts";
import { commandFor, ROWS, targetOf } from "./coverage_methods.ts";

Deno.test("coverage: each change method is reported live with the process that did it", async () => {
  await using dir = await tempDir();
  const files = ROWS.map((_, i) => `${dir.path}/row${i}`);
  for (const f of files) await Deno.writeTextFile(f, "original content\n".padEnd(16384, "."));
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([dir.path]), outputs: [out] });
  const missed: string[] = [];
  try {
    for (const [i, row] of ROWS.entries()) {
      const f = files[i];
      const target = targetOf(row, f);
      const cmd = commandFor(row, f);
      const r = await run(cmd);
      assert(r.code === 0, `${row.name}: ${cmd.join(" ")} failed: ${r.stderr}`);
      const finalHash = row.finalHash ? (await sha256File(target)).sha256 : undefined;
      const hit = await waitFor(
        () =>
          out.changes(target).some((e) =>
            e.event.action === row.action && e.process?.name === row.comm &&
            (!finalHash || e.file?.hash?.sha256 === finalHash)
          ),
        2000,
      );
      if (!hit) {
        missed.push(
          `${row.name}: got ${
            JSON.stringify(out.changes(target).map((e) => [e.event.action, e.process?.name]))
          }`,
        );
      }
    }
  } finally {
    await agent.stop();
  }
  assert(missed.length === 0, `missed:\n  ${missed.join("\n  ")}`);
});

Deno.test("coverage: a write through a bind mount of a watched directory is caught by inode", async () => {
  await using dir = await tempDir();
  await using mnt = await tempDir("bpfink-bind-");
  const f = `${dir.path}/secret.conf`;
  await Deno.writeTextFile(f, "a\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  const mounted = await run(["mount", "--bind", dir.path, mnt.path]);
  try {
    assert(mounted.code === 0, mounted.stderr);
    const w = await run(["sh", "-c", 'echo b >> "$1"', "sh", `${mnt.path}/secret.conf`]);
    assert(w.code === 0);
    assert(
      await waitFor(() =>
        out.changes(f).some((e) => e.event.action === "modified" && e.process?.pid === w.pid)
      ),
      "write through the bind mount missed",
    );
  } finally {
    await agent.stop();
    if (mounted.code === 0) await run(["umount", mnt.path]);
  }
});

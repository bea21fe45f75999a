/**
 * A shared mapping made writable after the fact: test/inode/mprotect_write.c
 * maps a watched file shared and read-only (its fd closed at once), then
 * mprotect()s it writable and writes through memory, with no write syscall.
 * Reported live, as `modified`, naming the program, also when the mprotect
 * range starts at an anonymous page (the file's mapping is the range's
 * second VMA).
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";

Deno.test("mprotect(PROT_WRITE) of a read-only shared mapping, then a write through it, is reported live with its process", async () => {
  await using dir = await tempDir();
  const bin = `${dir.path}/mprotect_write`;
  const cc = await run([
    "gcc",
    "-O2",
    "-o",
    bin,
    new URL("./inode/mprotect_write.c", import.meta.url).pathname,
  ]);
  assert(cc.code === 0, cc.stderr);
  const files = { single: `${dir.path}/single.conf`, span: `${dir.path}/span.conf` };
  for (const f of Object.values(files)) await Deno.writeTextFile(f, "original content\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths(Object.values(files)),
    outputs: [out],
  });
  const missed: string[] = [];
  try {
    for (const [mode, f] of Object.entries(files)) {
      const r = await run([bin, f, mode]);
      assert(r.code === 0, `${mode}: ${r.stderr}`);
      const seen = await waitFor(
        () =>
          out.changes(f).some((e) =>
            e.event.action === "modified" && e.process?.pid === r.pid &&
            e.event.reason?.startsWith("live")
          ),
        3000,
      );
      if (!seen) {
        missed.push(
          `${mode}: ${
            JSON.stringify(
              out.changes(f).map((e) => [e.event.action, e.event.reason, e.process?.name]),
            )
          }`,
        );
      }
    }
  } finally {
    await agent.stop();
  }
  assert(missed.length === 0, `not reported live:\n  ${missed.join("\n  ")}`);
});

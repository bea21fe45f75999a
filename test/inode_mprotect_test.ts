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
import { CaptureOutput, run, tempDir } from "./helpers.ts";
import { buildProgram, missedLive } from "./inode/fixtures.ts";

Deno.test("mprotect(PROT_WRITE) of a read-only shared mapping, then a write through it, is reported live with its process", async () => {
  await using dir = await tempDir();
  const bin = await buildProgram(dir.path, "mprotect_write");
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
      const got = await missedLive(out, f, r.pid);
      if (got !== undefined) missed.push(`${mode}: ${got}`);
    }
  } finally {
    await agent.stop();
  }
  assert(missed.length === 0, `not reported live:\n  ${missed.join("\n  ")}`);
});

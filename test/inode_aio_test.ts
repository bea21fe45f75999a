/**
 * Linux native AIO writes a file with no write syscall: `io_submit()` queues
 * IOCB_CMD_PWRITE requests that the kernel carries out. test/inode/aio_write.c
 * opens a watched file without O_CREAT or O_TRUNC and writes it through one
 * io_submit() of N requests, the last the only write:
 * - N = 1: reported live, as `modified`, naming the program;
 * - N = 12, past the requests the kernel checks (FIM_AIO_MAX, 8): counted as
 *   a kernel drop, and the rescan that follows reports it (without a process).
 *   The ring holds nothing else then: the drop's notice alone wakes the agent
 *   (drop_watch.ts, which has no timer). fanotify is off, or its FAN_MODIFY
 *   would report the write without the drop.
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { buildProgram, missedLive } from "./inode/fixtures.ts";

Deno.test("io_submit(IOCB_CMD_PWRITE) into a watched file is reported: live with its process, or by the rescan past 8 requests", async () => {
  await using dir = await tempDir();
  const bin = await buildProgram(dir.path, "aio_write");
  const live = `${dir.path}/live.conf`;
  const many = `${dir.path}/many.conf`;
  for (const f of [live, many]) await Deno.writeTextFile(f, "original\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([live, many]),
    outputs: [out],
    fanotify: false,
  });
  const problems: string[] = [];
  try {
    // First, with nothing else in the ring: only the drop's notice can wake the agent.
    let r = await run([bin, many, "12"]);
    assert(r.code === 0, r.stderr);
    const found = await waitFor(() => out.changes(many).some((e) => e.event.action === "modified"));
    if (!found) problems.push(`12 requests: nothing reported`);
    else if (agent.rescans === 0) problems.push(`12 requests: reported, but not by a rescan`);
    // A burst of drops costs a rescan per 250 ms (drop_watch.ts), not one per drop.
    await agent.idle();
    const before = agent.rescans;
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) assert((await run([bin, many, "12"])).code === 0);
    const ms = performance.now() - t0;
    await new Promise((res) => setTimeout(res, 600));
    const rescans = agent.rescans - before;
    if (rescans < 1 || rescans > Math.ceil(ms / 250) + 2) {
      problems.push(`20 drops in ${ms.toFixed(0)} ms: ${rescans} rescans`);
    }
    r = await run([bin, live, "1"]);
    assert(r.code === 0, r.stderr);
    const got = await missedLive(out, live, r.pid);
    if (got !== undefined) problems.push(`1 request: ${got}`);
  } finally {
    await agent.stop();
  }
  assert(problems.length === 0, `not reported:\n  ${problems.join("\n  ")}`);
});

/**
 * Linux native AIO writes a file with no write syscall: `io_submit()` queues
 * IOCB_CMD_PWRITE requests that the kernel carries out. test/inode/aio_write.c
 * opens a watched file without O_CREAT or O_TRUNC and writes it through one
 * io_submit() of N requests, the last the only write:
 * - N = 1: reported live, as `modified`, naming the program;
 * - N = 12, past the requests the kernel checks (FIM_AIO_MAX, 8): counted as
 *   a kernel drop, and the rescan that follows reports it (without a process).
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
  const agent = await Agent.start({ watches: watchesForPaths([live, many]), outputs: [out] });
  const problems: string[] = [];
  try {
    let r = await run([bin, live, "1"]);
    assert(r.code === 0, r.stderr);
    const got = await missedLive(out, live, r.pid);
    if (got !== undefined) problems.push(`1 request: ${got}`);
    r = await run([bin, many, "12"]);
    assert(r.code === 0, r.stderr);
    const found = await waitFor(() => out.changes(many).some((e) => e.event.action === "modified"));
    if (!found) problems.push(`12 requests: nothing reported`);
  } finally {
    await agent.stop();
  }
  assert(problems.length === 0, `not reported:\n  ${problems.join("\n  ")}`);
});

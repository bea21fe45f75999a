/**
 * A reflink rewrites a file without any write: `ioctl(FICLONE)` or
 * `ioctl(FICLONERANGE)` on an fd opened without O_TRUNC shares another
 * file's extents into it (btrfs, xfs). Both must be reported live, as
 * `modified`, with the process that did it. The btrfs image, its loop
 * device and its mount are made in the test and removed after.
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir } from "./helpers.ts";
import { missedLive, mountBtrfs } from "./inode/fixtures.ts";

/** Python that clones argv[2] into argv[1] (opened O_WRONLY, no O_TRUNC) with the named ioctl. */
const CLONE = `
import fcntl, os, struct, sys
dst = os.open(sys.argv[1], os.O_WRONLY)
src = os.open(sys.argv[2], os.O_RDONLY)
if sys.argv[3] == "FICLONE":
    fcntl.ioctl(dst, 0x40049409, src)
else:
    fcntl.ioctl(dst, 0x4020940d, struct.pack("qQQQ", src, 0, 0, 0))
`;

Deno.test("ioctl(FICLONE) and ioctl(FICLONERANGE) into a watched file on btrfs are reported live with their process", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const undo: string[][] = [];
  try {
    await mountBtrfs(d, undo);
    const evil = `${d}/bt/evil`;
    await Deno.writeTextFile(evil, "root::0:0:root:/root:/bin/bash\n".repeat(200));
    const targets = { FICLONE: `${d}/bt/clone.conf`, FICLONERANGE: `${d}/bt/range.conf` };
    for (const f of Object.values(targets)) await Deno.writeTextFile(f, "original\n");
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths(Object.values(targets)),
      outputs: [out],
    });
    const missed: string[] = [];
    try {
      for (const [how, f] of Object.entries(targets)) {
        const c = await run(["python3", "-c", CLONE, f, evil, how]);
        assert(c.code === 0, `${how}: ${c.stderr}`);
        const got = await missedLive(out, f, c.pid);
        if (got !== undefined) missed.push(`${how}: ${got}`);
      }
    } finally {
      await agent.stop();
    }
    assert(missed.length === 0, `not reported live:\n  ${missed.join("\n  ")}`);
  } finally {
    for (const cmd of undo) await run(cmd);
  }
});

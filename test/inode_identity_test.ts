/**
 * Device identity from the kernel: on btrfs (subvolumes) and on overlayfs
 * whose layers sit on different file systems, `stat()` gives another device
 * than the superblock's that the kernel's events carry. Writes and fchmod
 * through an fd are caught there like on ext4 (the control). Images, loop
 * devices and mounts are made in the test and removed after.
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { mountBtrfs, must } from "./inode/fixtures.ts";

Deno.test("btrfs subvolumes and overlayfs over two file systems: fd writes and fchmod are caught", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const undo: string[][] = [];
  try {
    // btrfs on a loop device, with a subvolume.
    await mountBtrfs(d, undo);
    await must(["btrfs", "subvolume", "create", `${d}/bt/sub`]);
    // overlayfs: lower layer on tmpfs, upper on btrfs.
    for (const p of ["lower", "merged", "bt/upper", "bt/work"]) await Deno.mkdir(`${d}/${p}`);
    await must(["mount", "-t", "tmpfs", "tmpfs", `${d}/lower`]);
    undo.unshift(["umount", `${d}/lower`]);
    await Deno.writeTextFile(`${d}/lower/from-lower.conf`, "lower\n");
    await must([
      "mount",
      "-t",
      "overlay",
      "overlay",
      "-o",
      `lowerdir=${d}/lower,upperdir=${d}/bt/upper,workdir=${d}/bt/work`,
      `${d}/merged`,
    ]);
    undo.unshift(["umount", `${d}/merged`]);
    const files = [
      `${d}/control.conf`, // ext4 (the temp dir): the control
      `${d}/bt/top.conf`,
      `${d}/bt/sub/in-subvolume.conf`,
      `${d}/merged/from-lower.conf`,
      `${d}/merged/upper.conf`,
    ];
    for (const f of files) if (!f.endsWith("from-lower.conf")) await Deno.writeTextFile(f, "x\n");
    const out = new CaptureOutput();
    const agent = await Agent.start({ watches: watchesForPaths(files), outputs: [out] });
    const missed: string[] = [];
    try {
      // fanotify marked every watched inode: a mark checks the kernel's device, which stat
      // does not give on these file systems (the mount the file was reached through tells it).
      const unmarked = /^bpfink_kernel_unmarked_watches (\d+)/m.exec(
        agent.metrics.prometheusText(),
      );
      assert(unmarked?.[1] === "0", `${unmarked?.[1]} watched inodes left without a mark`);
      for (const f of files) {
        // No O_CREAT: only the fd → inode path can see these.
        const w = await run([
          "python3",
          "-c",
          "import os,sys;os.write(os.open(sys.argv[1],os.O_WRONLY|os.O_APPEND),b'y')",
          f,
        ]);
        const c = await run([
          "python3",
          "-c",
          "import os,sys;os.fchmod(os.open(sys.argv[1],os.O_RDONLY),0o640)",
          f,
        ]);
        assert(w.code === 0 && c.code === 0, `${f}: ${w.stderr}${c.stderr}`);
        const by = (pid: number, action: string) =>
          out.changes(f).some((e) => e.event.action === action && e.process?.pid === pid);
        if (!await waitFor(() => by(w.pid, "modified"), 2000)) missed.push(`${f}: write`);
        if (!await waitFor(() => by(c.pid, "attributes_changed"), 2000)) {
          missed.push(`${f}: fchmod`);
        }
      }
    } finally {
      await agent.stop();
    }
    assert(missed.length === 0, `missed:\n  ${missed.join("\n  ")}`);
  } finally {
    for (const cmd of undo) await run(cmd);
  }
});

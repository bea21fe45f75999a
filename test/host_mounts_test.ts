/**
 * The agent in a mount namespace of its own (as the shipped systemd unit
 * runs it: ProtectSystem, PrivateTmp), and root on the host cutting the
 * propagation (`mount --make-private`) before mounting a tmpfs with a
 * NOPASSWD rule over a watched sudoers.d: the host's sudo reads the rule,
 * the agent's namespace never sees the mount. The agent compares the
 * host's mount table (here: a `sleep` in the test's namespace stands for
 * PID 1, through BPFINK_HOST_PID) and reports the watched path mounted
 * over, critical, naming the mounting process.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a mount on the host over a watched directory, hidden from the agent's namespace, is reported", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  const m = `${x}/M`;
  await Deno.mkdir(`${m}/sudoers.d`, { recursive: true });
  await Deno.writeTextFile(`${m}/sudoers.d/base`, "root ALL=(ALL) ALL\n");
  const sh = async (cmd: string) => {
    const r = await run(["sh", "-c", cmd]);
    assertEquals(r.code, 0, `${cmd}: ${r.stderr}`);
  };
  await sh(`mount --bind ${m} ${m} && mount --make-shared ${m}`);
  const host = new Deno.Command("sleep", { args: ["600"] }).spawn();
  const config = await daemonConfig(x, [`- path: ${m}/sudoers.d`]);
  const d = new Daemon(config, { BPFINK_HOST_PID: String(host.pid) }, [
    "unshare",
    "-m",
    "--propagation",
    "slave",
    "--",
  ]);
  try {
    await d.started();
    await sh(`mount --make-private ${m} && mount -t tmpfs none ${m}/sudoers.d`);
    await Deno.writeTextFile(`${m}/sudoers.d/evil`, "mallory ALL=(ALL) NOPASSWD: ALL\n");
    const over = (e: { event: { action?: string } }) => e.event.action === "mounted_over";
    assert(
      await waitFor(() => d.changes().some(over), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}\n${d.stderr}`,
    );
    const e = d.changes().find(over)!;
    assertEquals(e.file?.path, `${m}/sudoers.d`);
    assertEquals(e.bpfink?.severity, "critical");
    assertEquals(e.process?.name, "mount");
    // The directory speaks for the files below it: one event, not one per file.
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(d.changes().filter(over).map((e) => e.file?.path), [`${m}/sudoers.d`]);
  } finally {
    await d.stop();
    host.kill();
    await host.status;
    await run(["sh", "-c", `umount ${m}/sudoers.d; umount ${m}`]);
  }
});

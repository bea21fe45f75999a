/**
 * /etc/ld.so.preload by meaning: a missing file watched for its creation,
 * then created by a shell naming a library: critical, with the writer.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a library written into a new ld.so.preload is critical, named with its writer", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/etc`);
  await Deno.writeTextFile(`${x}/etc/hosts`, "127.0.0.1 localhost\n");
  const config = await daemonConfig(x, [
    // Missing at start, as on most hosts: watched for its creation (beside a file that exists).
    `- ${x}/etc/ld.so.preload`,
    `- ${x}/etc/hosts`,
  ]);
  const d = new Daemon(config);
  try {
    await d.started();
    const sh = await run(["sh", "-c", `printf '/usr/lib/libevil.so\\n' > ${x}/etc/ld.so.preload`]);
    assertEquals(sh.code, 0, sh.stderr);
    const added = (e: { event: { action?: string } }) => e.event.action === "preload_added";
    assert(await waitFor(() => d.changes().some(added), 10_000), "no preload_added");
    const e = d.changes().find(added)!;
    assertEquals(e.message, "library preloaded into every program: /usr/lib/libevil.so");
    assertEquals(e.bpfink?.severity, "critical");
    assertEquals(e.process?.name, "sh");
  } finally {
    await d.stop();
  }
});

/**
 * An agent stopped with SIGSTOP while a watched file changes (what root can
 * do without killing it): the report comes when it runs again, and says
 * when the change happened (`@timestamp`, the kernel event's time) apart
 * from when it was told (`event.created`).
 */
import { assert } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a change made while the agent was stopped carries its own time, not the report's", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  const f = `${x}/sudoers`;
  await Deno.writeTextFile(f, "root ALL=(ALL) ALL\n");
  const d = new Daemon(await daemonConfig(x, [`- ${f}`]));
  try {
    await d.started();
    d.child.kill("SIGSTOP");
    const before = Date.now();
    await run(["sh", "-c", `echo 'mallory ALL=(ALL) NOPASSWD: ALL' >> ${f}`]);
    const written = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    d.child.kill("SIGCONT");
    const e = await d.expect(
      (e) => e.file?.path === f && e.event.action === "modified",
      "the write",
    );
    const at = Date.parse(e["@timestamp"]);
    const created = Date.parse(e.event.created!);
    assert(
      at >= before - 50 && at <= written + 50,
      `@timestamp ${e["@timestamp"]} is not the write's`,
    );
    assert(created - at >= 1900, `created ${e.event.created} is not the report's, 2 s later`);
    // Every event of the report carries the same times.
    for (const s of d.changes().filter((x) => x.file?.path === f)) {
      assert(s["@timestamp"] === e["@timestamp"], JSON.stringify(s));
    }
  } finally {
    d.child.kill("SIGCONT");
    await d.stop();
  }
});

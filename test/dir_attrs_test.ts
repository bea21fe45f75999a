/**
 * Who may make, remove or rename names in a watched directory is the
 * directory's mode and owner: `chmod o+w` or a chown of a `sudoers.d` lets
 * another user drop files there later. Such a change is reported as the
 * directory's own `attributes_changed`, high, with the process, live and
 * when made while bpfink was down. Before, a directory's re-read compared
 * only its listing, and both went unreported.
 */
import { assertEquals } from "./assert.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";

const changed = (e: ChangeEvent, field: string) =>
  ((e.bpfink?.changes ?? []) as { field: string; from?: unknown; to?: unknown }[])
    .filter((c) => c.field === field).map((c) => [c.from, c.to]);

async function ok(cmd: string[]): Promise<void> {
  const r = await run(cmd);
  assertEquals(r.code, 0, `${cmd.join(" ")}: ${r.stderr}`);
}

Deno.test("a watched directory made writable by others or given away is high, with the process", async () => {
  await using d = await tempDir();
  const dir = `${d.path}/sudoers.d`;
  await Deno.mkdir(dir, { mode: 0o755 });
  await Deno.chmod(dir, 0o755);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([dir]), outputs: [out] });
  try {
    const nth = async (n: number, what: string) => {
      await waitFor(() => out.changes(dir).length > n, 5000);
      const e = out.changes(dir)[n];
      assertEquals(e?.event.action, "attributes_changed", `${what}: ${e?.message}`);
      return e;
    };
    await ok(["chmod", "o+w", dir]);
    const chmod = await nth(0, "chmod o+w");
    assertEquals(changed(chmod, "mode"), [["0755", "0757"]]);
    assertEquals(chmod.bpfink?.severity, "high");
    assertEquals(chmod.process?.name, "chmod");
    await ok(["chown", "nobody", dir]);
    const chown = await nth(1, "chown nobody");
    assertEquals(changed(chown, "uid"), [[0, 65534]]);
    assertEquals(chown.bpfink?.severity, "high");
    assertEquals(chown.process?.name, "chown");
  } finally {
    await agent.stop();
  }
});

Deno.test("a watched directory's mode changed while bpfink was down is reported at the next start", async () => {
  await using d = await tempDir();
  const dir = `${d.path}/cron.d`;
  await Deno.mkdir(dir);
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/job`, "* * * * * root true\n");
  const config = await daemonConfig(d.path, [`- path: ${dir}`]);
  const first = new Daemon(config);
  await first.started();
  assertEquals(await first.stop(), 0);
  await Deno.chmod(dir, 0o777);
  const second = new Daemon(config);
  try {
    await second.started();
    const e = await second.expect(
      (e) => e.file?.path === dir && e.event.action === "attributes_changed",
      "the offline chmod of the directory",
    );
    assertEquals(e.event.reason, "offline");
    assertEquals(changed(e, "mode"), [["0755", "0777"]]);
    assertEquals(e.bpfink?.severity, "high");
  } finally {
    await second.stop();
  }
});

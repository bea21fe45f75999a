/**
 * The systemd unit passes `systemd-analyze verify` with no warnings.
 */
import { assertEquals } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";

Deno.test("deploy/systemd/bpfink.service: systemd-analyze verify reports nothing", async () => {
  await using dir = await tempDir();
  // verify checks that ExecStart exists: point it at this checkout's launcher.
  const unit = (await Deno.readTextFile("deploy/systemd/bpfink.service"))
    .replace("/usr/local/bin/bpfink", `${Deno.cwd()}/bpfink`);
  await Deno.writeTextFile(`${dir.path}/bpfink.service`, unit);
  const r = await run(["systemd-analyze", "verify", `${dir.path}/bpfink.service`]);
  // Other packages' units on this machine may warn too; only ours counts.
  const otherUnit = (l: string) =>
    /^\/\S+\.(service|socket|timer|target):/.test(l) && !l.startsWith(dir.path);
  const noise = (l: string) =>
    !l.trim() || otherUnit(l) ||
    /Failed to (open|connect)|not running|system has not been booted/i.test(l);
  const problems = (r.stdout + r.stderr).split("\n").filter((l) => !noise(l));
  assertEquals(problems, [], r.stdout + r.stderr);
});

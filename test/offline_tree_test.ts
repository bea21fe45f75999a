/**
 * What changed below new and deleted directories while the daemon was down:
 * the next start reports every path the live agent would have reported
 * (created for each new file and directory, deleted for each path of a
 * removed subtree, created for a watched file or tree missing at the last
 * start and made meanwhile), and `bpfink check` lists the same paths.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { Daemon } from "./daemon.ts";

async function sh(script: string, cwd: string): Promise<void> {
  const r = await new Deno.Command("sh", { args: ["-c", script], cwd }).output();
  assert(r.success, `${script}: ${new TextDecoder().decode(r.stderr)}`);
}

Deno.test("changes below new, moved and deleted directories while the daemon was down are reported, as bpfink check lists them", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await sh(
    "mkdir -p etc app/mv1 app/d1/d2 && echo 'root:x:0:0::/root:/bin/sh' > etc/passwd && " +
      "echo 'root:*:1::::::' > etc/shadow && echo a > app/a.conf && echo m > app/mv1/m.conf && " +
      "echo one > app/d1/one.conf && echo two > app/d1/d2/two.conf",
    x,
  );
  const config = `${x}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${x}/etc/passwd\n  - path: ${x}/etc/shadow\n` +
      `  - path: ${x}/app\n    recursive: true\n` +
      // Missing at the first start: watched for their creation.
      `  - path: ${x}/root/.ssh/authorized_keys\n  - path: ${x}/w/laterdir\n    recursive: true\n` +
      `database: ${x}/state/bpfink.db\nkey_file: ${x}/state/hmac.key\n` +
      `log_level: warning\noutputs:\n  - type: stdout\n    format: json\n`,
  );
  const first = new Daemon(config);
  await first.started();
  assertEquals(first.changes(), [], "the first start only records the baseline");
  assertEquals(await first.stop(), 0);

  await sh("mkdir -p app/x/y && echo z > app/x/y/z.conf", x);
  await sh("mkdir app/newdir && echo d > app/newdir/deep.conf", x);
  await sh("mv app/mv1 app/mv2 && echo evil > app/mv2/m.conf", x);
  await sh("rm -rf app/d1", x);
  await sh("mkdir -p root/.ssh && echo 'ssh-ed25519 AAAA evil' > root/.ssh/authorized_keys", x);
  await sh("mkdir -p w/laterdir/sub && echo x > w/laterdir/sub/x.conf", x);
  const a = `${x}/app`;
  const expected = [
    `created ${a}/mv2`,
    `created ${a}/mv2/m.conf`,
    `created ${a}/newdir`,
    `created ${a}/newdir/deep.conf`,
    `created ${a}/x`,
    `created ${a}/x/y`,
    `created ${a}/x/y/z.conf`,
    `deleted ${a}/d1`,
    `deleted ${a}/d1/d2`,
    `deleted ${a}/d1/d2/two.conf`,
    `deleted ${a}/d1/one.conf`,
    `deleted ${a}/mv1`,
    `deleted ${a}/mv1/m.conf`,
    `created ${x}/root/.ssh/authorized_keys`,
    `created ${x}/w/laterdir`,
    `created ${x}/w/laterdir/sub`,
    `created ${x}/w/laterdir/sub/x.conf`,
  ].sort();

  const check = await run(["./bpfink", "check", "--config", config, "--json"]);
  assertEquals(check.code, 1, check.stderr);
  const checked = check.stdout.trim().split("\n").map((l) => JSON.parse(l))
    .map((r: { action: string; path: string }) => `${r.action} ${r.path}`).sort();
  assertEquals(checked, expected, "bpfink check");

  const second = new Daemon(config);
  await second.started();
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(await second.stop(), 0);
  const reported = second.changes().map((e) => `${e.event.action} ${e.file?.path}`).sort();
  assertEquals(reported, checked, "the daemon's offline report and bpfink check differ");
  assert(second.changes().every((e) => e.event.reason === "offline"));
  const dirs = second.changes().filter((e) => e.file?.type === "dir").map((e) => e.file?.path);
  assertEquals(dirs.sort(), [
    `${a}/d1`,
    `${a}/d1/d2`,
    `${a}/mv1`,
    `${a}/mv2`,
    `${a}/newdir`,
    `${a}/x`,
    `${a}/x/y`,
    `${x}/w/laterdir`,
    `${x}/w/laterdir/sub`,
  ]);

  const third = new Daemon(config);
  await third.started();
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(await third.stop(), 0);
  assertEquals(third.changes(), [], "nothing is reported twice");
  const after = await run(["./bpfink", "check", "--config", config]);
  assertEquals(after.code, 0, after.stdout);
});

/**
 * `bpfink check`: the disk against the baseline the daemon's own code
 * recorded, after changes made with real tools (sed -i, chmod, rm, touch);
 * exit 0 when nothing differs, 1 when something does, 2 without a baseline.
 */
import { assert, assertEquals, assertIncludes } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { ChangePipeline } from "../src/pipeline/change_pipeline.ts";
import { consumerContext } from "../src/consumers/consumer_context.ts";
import { BaselineStore } from "../src/store/baseline_store.ts";
import { readFileState } from "../src/watch/file_state.ts";
import { resolveTargets } from "../src/watch/watch_targets.ts";
import { Daemon } from "./daemon.ts";

async function recordBaseline(db: string, tree: string): Promise<void> {
  const store = BaselineStore.open(db);
  try {
    const pipeline = new ChangePipeline({
      store,
      hostname: "h",
      ctx: consumerContext(new Uint8Array(32), () => {}),
      ruleFor: () => ({ consumer: "generic", secret: false, diffMaxBytes: 0 }),
      deliver: () => {},
    });
    const r = await resolveTargets([tree], { recursive: true });
    pipeline.adoptMany(
      await Promise.all(
        r.targets.map(async (t) => [t.path, await readFileState(t.path)] as const),
      ) as [
        string,
        Awaited<ReturnType<typeof readFileState>>,
      ][],
    );
  } finally {
    store.close();
  }
}

Deno.test("check: exit 0 when the disk matches, 1 with every difference listed, 2 without a baseline", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/etc`;
  await Deno.mkdir(tree);
  for (const f of ["a.conf", "b.conf", "c.conf", "d.conf"]) {
    await Deno.writeTextFile(`${tree}/${f}`, `${f}=1\n`);
  }
  const config = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${tree}\n    ignore:\n      paths: ["d.conf"]\n` +
      `database: ${dir.path}/state/bpfink.db\nkey_file: ${dir.path}/state/key\n`,
  );
  const none = await run(["./bpfink", "check", "--config", config]);
  assertEquals(none.code, 2, none.stdout + none.stderr);
  assertIncludes(none.stderr, "no baseline");

  await recordBaseline(`${dir.path}/state/bpfink.db`, tree);
  const same = await run(["./bpfink", "check", "--config", config]);
  assertEquals([same.code, same.stdout.trim()], [0, "no differences from the baseline"]);

  assertEquals((await run(["sed", "-i", "s/=1/=2/", `${tree}/a.conf`])).code, 0);
  assertEquals((await run(["chmod", "600", `${tree}/b.conf`])).code, 0);
  assertEquals((await run(["rm", `${tree}/c.conf`])).code, 0);
  assertEquals((await run(["touch", `${tree}/new\x1b[31m.conf`])).code, 0);
  assertEquals((await run(["sh", "-c", `echo x >> ${tree}/d.conf`])).code, 0); // ignored
  const diff = await run(["./bpfink", "check", "--config", config]);
  assertEquals(diff.code, 1, diff.stderr);
  const out = diff.stdout;
  assertIncludes(out, `replaced           ${tree}/a.conf`); // sed -i renames a new file over it
  assertIncludes(out, `attributes_changed ${tree}/b.conf  (mode 0644 → 0600)`);
  assertIncludes(out, `deleted            ${tree}/c.conf`);
  assertIncludes(out, `created            ${tree}/new\\x1b[31m.conf`); // escaped, not a color
  assert(!out.includes("d.conf"), out);
  assertIncludes(out, "4 differences from the baseline");

  const json = await run(["./bpfink", "check", "--config", config, "--json"]);
  assertEquals(json.code, 1);
  const rows = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(rows.map((r) => r.action).sort(), [
    "attributes_changed",
    "created",
    "deleted",
    "replaced",
  ]);
  // Read-only: the baseline did not move, so the same differences are found again.
  assertEquals((await run(["./bpfink", "check", "--config", config])).code, 1);
});

Deno.test("check: a copy of shadow and a secret: true file the daemon recorded are the same until they change (keyed fingerprints)", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/etc`);
  await Deno.writeTextFile(`${d}/etc/shadow`, "root:*:19000:0:99999:7:::\n");
  await Deno.writeTextFile(`${d}/etc/token`, "s3cret\n");
  const config = `${d}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${d}/etc/shadow\n  - path: ${d}/etc/token\n    secret: true\n` +
      `database: ${d}/db/bpfink.db\nkey_file: ${d}/db/hmac.key\nstrategy: tracepoint\n` +
      `outputs:\n  - type: stdout\n    format: json\n`,
  );
  const daemon = new Daemon(config);
  try {
    await daemon.started();
  } finally {
    assertEquals(await daemon.stop(), 0, daemon.stderr);
  }
  const same = await run(["./bpfink", "check", "--config", config]);
  assertEquals(
    [same.code, same.stdout.trim()],
    [0, "no differences from the baseline"],
    same.stderr,
  );
  await Deno.writeTextFile(`${d}/etc/shadow`, "root:!:19000:0:99999:7:::\n");
  const changed = await run(["./bpfink", "check", "--config", config]);
  assertEquals(changed.code, 1, changed.stdout + changed.stderr);
  assertIncludes(changed.stdout, `modified`);
  assertIncludes(changed.stdout, `${d}/etc/shadow`);
  assert(!changed.stdout.includes(`${d}/etc/token`), changed.stdout);
});

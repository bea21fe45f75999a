/**
 * The daemon as an operator runs it: `bpfink run --config`, stopped and
 * started again, and killed with SIGKILL in the middle of a burst.
 */
import { assert, assertEquals } from "./assert.ts";
import { bpfLinkIds, tempDir } from "./helpers.ts";
import { Daemon } from "./daemon.ts";

async function writeConfig(dir: string, watched: string): Promise<string> {
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    path,
    `watches:\n  - path: ${watched}\ndatabase: ${dir}/state/bpfink.db\nkey_file: ${dir}/state/hmac.key\n` +
      `log_level: warning\noutputs:\n  - type: stdout\n    format: json\n`,
  );
  return path;
}

Deno.test("changes made while the daemon was down are reported once, as offline, on the next start", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/etc`;
  await Deno.mkdir(tree);
  await Deno.writeTextFile(`${tree}/a.conf`, "a=1\n");
  await Deno.writeTextFile(`${tree}/b.conf`, "b=1\n");
  const config = await writeConfig(dir.path, tree);

  const first = new Daemon(config);
  await first.started();
  assertEquals(first.changes(), [], "first start only records the baseline");
  assertEquals(await first.stop(), 0);
  const keyInfo = await Deno.stat(`${dir.path}/state/hmac.key`);
  assertEquals(keyInfo.mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(`${dir.path}/state/bpfink.db`)).mode! & 0o777, 0o600);

  await Deno.writeTextFile(`${tree}/a.conf`, "a=2\n");
  await Deno.remove(`${tree}/b.conf`);
  await Deno.writeTextFile(`${tree}/c.conf`, "c=1\n");

  const second = new Daemon(config);
  await second.started();
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(await second.stop(), 0);
  const got = second.changes().map((e) => `${e.event.action} ${e.file?.path} ${e.event.reason}`)
    .sort();
  assertEquals(got, [
    `created ${tree}/c.conf offline`,
    `deleted ${tree}/b.conf offline`,
    `modified ${tree}/a.conf offline`,
  ]);
  const diff = second.changes().find((e) => e.event.action === "modified")?.bpfink?.diff;
  assertEquals(diff, { added: ["a=2"], removed: ["a=1"] });

  const third = new Daemon(config);
  await third.started();
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(await third.stop(), 0);
  assertEquals(third.changes(), [], "nothing is reported twice");
});

Deno.test("kill -9 during a burst: after a restart nothing is lost and no event is new twice", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/etc`;
  await Deno.mkdir(tree);
  const files = Array.from({ length: 5 }, (_, i) => `${tree}/f${i}.conf`);
  for (const f of files) await Deno.writeTextFile(f, "v=0\n");
  const config = await writeConfig(dir.path, tree);

  const linksBefore = await bpfLinkIds();
  const first = new Daemon(config);
  await first.started();
  // A burst of changes; SIGKILL lands in the middle of it.
  let killed = false;
  for (let round = 1; round <= 40; round++) {
    for (const f of files) await Deno.writeTextFile(f, `v=${round}\n`);
    if (round === 20) {
      first.child.kill("SIGKILL");
      killed = true;
    }
  }
  assert(killed);
  await first.child.status;
  await first.stop().catch(() => {});

  const second = new Daemon(config);
  await second.started();
  await new Promise((r) => setTimeout(r, 500));
  assertEquals(await second.stop(), 0);

  const all = [...first.changes(), ...second.changes()];
  for (const f of files) {
    const last = all.filter((e) => e.file?.path === f && e.event.action === "modified").at(-1);
    const finalHash = await sha256(f);
    assertEquals(last?.file?.hash?.sha256, finalHash, `${f}: last report is not the final content`);
  }
  // An event may be delivered again after a crash, but only flagged and with the same event.id.
  const seen = new Set<string>();
  for (const e of all) {
    if (seen.has(e.event.id)) {
      assert(e.bpfink?.redelivered === true, `duplicate ${e.event.id} not flagged`);
    }
    seen.add(e.event.id);
  }
  assertEquals(
    [...await bpfLinkIds()].filter((id) => !linksBefore.has(id)),
    [],
    "links left behind",
  );
  assertEquals(
    all.filter((e) => e.event.action === "created").length,
    0,
    "nothing is new: no file was created",
  );
});

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

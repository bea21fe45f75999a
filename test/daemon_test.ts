/**
 * The daemon as an operator runs it: `bpfink run --config`, stopped and
 * started again, and killed with SIGKILL in the middle of a burst.
 */
import { assert, assertEquals } from "./assert.ts";
import { bpfObjectsLeft, bpfObjectsOf, tempDir, waitFor } from "./helpers.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { Daemon } from "./daemon.ts";

async function writeConfig(dir: string, watched: string, moreOutputs = ""): Promise<string> {
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    path,
    `watches:\n  - path: ${watched}\ndatabase: ${dir}/state/bpfink.db\nkey_file: ${dir}/state/hmac.key\n` +
      `log_level: warning\noutputs:\n  - type: stdout\n    format: json\n${moreOutputs}`,
  );
  return path;
}

Deno.test("changes made while the daemon was down are reported once, as offline, on the next start", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/etc`;
  await Deno.mkdir(tree);
  await Deno.writeTextFile(`${tree}/a.conf`, "a=1\n");
  await Deno.writeTextFile(`${tree}/b.conf`, "b=1\n");
  // Entries that are not regular files are what they were after a restart, too (a symlink's
  // type and target were not stored, and every restart reported it changed).
  await Deno.symlink("/usr/share/doc", `${tree}/link`);
  const fifo = await new Deno.Command("mkfifo", { args: [`${tree}/fifo`] }).output();
  assert(fifo.success, "mkfifo");
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

  const first = new Daemon(config);
  await first.started();
  // Only this daemon's links and programs: other BPF agents may attach meanwhile.
  const own = bpfObjectsOf(first.child.pid);
  assert(own.links.size > 0, "the daemon holds no BPF link");
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
  // The kernel frees a killed process's links and programs with its last fd.
  assertEquals(await bpfObjectsLeft(own), { links: [], progs: [] }, "BPF objects left behind");
  assertEquals(
    all.filter((e) => e.event.action === "created").length,
    0,
    "nothing is new: no file was created",
  );
});

Deno.test("kill -9 while an HTTP sink holds an event: it is delivered, flagged, after the restart", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/etc`;
  await Deno.mkdir(tree);
  await Deno.writeTextFile(`${tree}/f.conf`, "v=0\n");
  // A sink that accepts the connection and never answers.
  const hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = hole.addr.port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of hole) held.push(c);
  })().catch(() => {});
  const config = await writeConfig(
    dir.path,
    tree,
    `  - type: http\n    url: http://127.0.0.1:${port}/\n    batch_size: 1\n` +
      `    flush_interval: 10ms\n    timeout: 60s\n`,
  );
  const first = new Daemon(config);
  let got: ChangeEvent[] = [];
  let server: Deno.HttpServer | undefined;
  try {
    await first.started();
    await Deno.writeTextFile(`${tree}/f.conf`, "v=1\n");
    assert(await waitFor(() => first.changes().length > 0, 5000), "no event on stdout");
    // Give the HTTP output time to take the event into its request.
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill("SIGKILL");
    await first.child.status;
    await first.stop().catch(() => {});
    hole.close();
    for (const c of held) c.close();
    await accepting;

    server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
      const body = await req.text();
      got = got.concat(body.split("\n").filter((l) => l).map((l) => JSON.parse(l)));
      return new Response("ok");
    });
    const second = new Daemon(config);
    await second.started();
    const id = first.changes()[0].event.id;
    const arrived = await waitFor(() => got.some((e) => e.event.id === id), 10_000);
    assertEquals(await second.stop(), 0);
    assert(
      arrived,
      `event ${id} never reached the sink: ${JSON.stringify(got.map((e) => e.event.action))}`,
    );
    assertEquals(got.find((e) => e.event.id === id)?.bpfink?.redelivered, true);
  } finally {
    await server?.shutdown();
  }
});

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

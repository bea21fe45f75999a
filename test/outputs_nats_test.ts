/**
 * The NATS JetStream output against a real three-node nats-server cluster on
 * loopback: one node is killed in the middle of a stream of changes, the
 * agent is killed with SIGKILL and started again, and the stream must hold
 * every event the agent reported exactly once.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { assert, assertEquals } from "./assert.ts";
import { Daemon } from "./daemon.ts";
import { checkEvent } from "./ecs_validate.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { NatsCluster } from "./services/nats.ts";
import { hasCommand, poll } from "./services/service.ts";
import { parseConfig } from "../src/config/load_config.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { MAX_EVENT_BYTES } from "../src/pipeline/event_size.ts";

const decoder = new TextDecoder();

/**
 * The stream BPFINK's message count; undefined while JetStream cannot answer
 * (a leader election after a node is killed can time a request out).
 */
async function messages(jsm: JetStreamManager): Promise<number | undefined> {
  try {
    return (await jsm.streams.info("BPFINK")).state.messages;
  } catch {
    return undefined;
  }
}

/**
 * Writes a daemon config under `dir` watching `tree`, to stdout and to the
 * stream BPFINK on `cluster` (with `nats` lines added to its output); returns its path.
 */
async function natsConfig(
  dir: string,
  tree: string,
  cluster: NatsCluster,
  nats: string,
): Promise<string> {
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${tree}\ndatabase: ${dir}/state/bpfink.db\n` +
      `key_file: ${dir}/state/hmac.key\nlog_level: info\noutputs:\n` +
      `  - type: stdout\n    format: json\n  - type: nats\n    servers: [${
        cluster.servers.join(", ")
      }]\n    subject: bpfink.events\n    stream: BPFINK\n${nats}`,
  );
  return config;
}

Deno.test({
  name: "nats: a node killed mid-stream and an agent killed with SIGKILL: every event exactly once",
  // nats-server comes with setup.sh --test.
  ignore: !hasCommand("nats-server"),
  async fn() {
    await using dir = await tempDir();
    await using cluster = await NatsCluster.start(dir.path);
    const nc = await cluster.connect();
    try {
      const jsm = await cluster.retry(() => jetstreamManager(nc));
      await cluster.retry(() => jsm.getAccountInfo());
      const tree = `${dir.path}/etc`;
      await Deno.mkdir(tree);
      const config = await natsConfig(
        dir.path,
        tree,
        cluster,
        `    replicas: 3\n    duplicate_window: 10m\n    batch_size: 8\n    timeout: 2s\n` +
          `    max_retries: 1000\n`,
      );
      const first = new Daemon(config);
      await first.started();
      // The agent creates the stream (R3) and publishes its start record into it.
      const ready = await poll(
        async () => ((await messages(jsm)) ?? 0) >= 1 || undefined,
        60_000,
        250,
      );
      assert(ready, `the agent never published to the stream: ${first.stderr}`);
      for (let i = 0; i < 30; i++) {
        await Deno.writeTextFile(`${tree}/f${i}.conf`, `v=${i}\n`);
        if (i === 10) await cluster.kill(cluster.nodes[0]); // the node the agent dialled first
        await new Promise((r) => setTimeout(r, 30));
      }
      await waitFor(() => first.changes().length >= 30, 10_000);
      // A burst, then SIGKILL while its events may still wait for JetStream's ack.
      for (let i = 0; i < 10; i++) await Deno.writeTextFile(`${tree}/f${i}.conf`, `v=${i}b\n`);
      await waitFor(() => first.changes().length >= 40, 10_000);
      await new Promise((r) => setTimeout(r, 20));
      first.child.kill("SIGKILL");
      await first.stop().catch(() => {});
      // Changed while the agent is down: reported as offline by the next one.
      await Deno.writeTextFile(`${tree}/down.conf`, "x\n");

      const second = new Daemon(config);
      await second.started();
      for (let i = 30; i < 40; i++) await Deno.writeTextFile(`${tree}/f${i}.conf`, `v=${i}\n`);
      assert(
        await waitFor(
          () => second.changes().filter((e) => e.event.reason?.startsWith("live")).length >= 10,
          30_000,
        ),
        "the restarted agent missed live changes",
      );

      // Let the agent catch up (the stream elects new leaders after the node died), then a
      // clean stop delivers what is still queued; after it the agent reports nothing more.
      const soFar = new Set([...first.events, ...second.events].map((e) => e.event.id)).size;
      await poll(async () => ((await messages(jsm)) ?? 0) >= soFar || undefined, 90_000);
      assertEquals(await second.stop(), 0);
      const reported = new Set([...first.events, ...second.events].map((e) => e.event.id));
      assert(second.changes().some((e) => e.file?.path === `${tree}/down.conf`), "offline missed");
      const stored = await poll(
        async () => {
          const n = await messages(jsm);
          return n !== undefined && n >= reported.size ? n : undefined;
        },
        60_000,
        250,
      );
      assert(
        stored !== undefined,
        `stream never reached ${reported.size} messages (has ${await messages(
          jsm,
        )}): ${first.stderr}\n${second.stderr}`,
      );

      const info = await cluster.retry(() => jsm.streams.info("BPFINK"));
      assertEquals(info.config.num_replicas, 3);
      const seen = new Map<string, number>();
      const storedEvents = new Map<string, ChangeEvent>();
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await cluster.retry(() => jsm.streams.getMessage("BPFINK", { seq }));
        assert(m, `stream message ${seq} missing`);
        const e = JSON.parse(decoder.decode(m.data));
        checkEvent(e, "an event in the stream");
        assertEquals(m.header?.get("Nats-Msg-Id"), e.event.id);
        seen.set(e.event.id, (seen.get(e.event.id) ?? 0) + 1);
        storedEvents.set(e.event.id, e);
      }
      const twice = [...seen].filter(([, n]) => n > 1);
      assertEquals(twice, [], "events stored more than once");
      const all = [...first.events, ...second.events];
      const missing = all.filter((e) => !seen.has(e.event.id)).map((e) =>
        `${e.event.action} ${e.event.reason} ${e.file?.path} redelivered=${e.bpfink?.redelivered}`
      );
      const describe = (e: ChangeEvent | undefined) =>
        `${e?.event.action} ${e?.event.reason} ${e?.file?.path} ${e?.agent?.ephemeral_id}`;
      const extra = [...seen.keys()].filter((id) => !reported.has(id)).map((id) =>
        describe(storedEvents.get(id))
      );
      assertEquals(
        missing,
        [],
        `events the agent reported but the stream does not hold (extra in the stream: ${extra})`,
      );
      assertEquals(extra, [], "events in the stream that the agent never reported");
      assertEquals(seen.size, reported.size);
    } finally {
      await nc.close();
    }
  },
});

Deno.test("nats: config errors name the field", () => {
  const bad = parseConfig(
    "watches: [/etc/hosts]\noutputs:\n  - type: nats\n    servers: [nowhere]\n    subject: a b\n",
  );
  const messages = bad.errors.map((p) => p.message);
  assert(messages.some((m) => m.includes("server must be host:port")), messages.join("; "));
  assert(messages.some((m) => m.includes("subject must be")), messages.join("; "));
  const good = parseConfig(
    "watches: [/etc/hosts]\noutputs:\n  - type: nats\n    servers: [127.0.0.1:4222, nats://n2:4222]\n",
  );
  assertEquals(good.errors, []);
  assertEquals(good.config?.outputs[0], {
    type: "nats",
    servers: ["127.0.0.1:4222", "nats://n2:4222"],
    subject: "bpfink.events",
    replicas: 1,
    duplicateWindowMs: 120_000,
    batchSize: 100,
    timeoutMs: 5000,
    buffer: 10_000,
    maxRetries: 20,
  });
});

/**
 * A text file any user can write, changed into an event of megabytes, then a
 * small change behind it: both reach the stream, each message within
 * `limit`, the server's `max_payload` or, with `streamLimit`, the
 * `max_msg_size` of a stream an operator made before the agent started.
 */
async function tooLargeScenario(limit: number, streamLimit: boolean): Promise<void> {
  await using dir = await tempDir();
  await using cluster = await NatsCluster.start(dir.path, 3, streamLimit ? undefined : limit);
  const nc = await cluster.connect();
  try {
    const jsm = await cluster.retry(() => jetstreamManager(nc));
    if (streamLimit) {
      await cluster.retry(() =>
        jsm.streams.add({
          name: "BPFINK",
          subjects: ["bpfink.events"],
          num_replicas: 1,
          max_msg_size: limit,
        })
      );
    }
    const tree = `${dir.path}/etc`;
    await Deno.mkdir(tree);
    // 200 lines of 1,000 control characters (under diff_max_bytes: a text file, diffed), each
    // 6 bytes of JSON: all changed, a line diff of 2.4 MB, which NATS refused (max_payload),
    // and the events behind it waited for good.
    const lines = (c: string) => `${c.repeat(1000)}\n`.repeat(200);
    await Deno.writeTextFile(`${tree}/big.conf`, lines("\x01"));
    const config = await natsConfig(dir.path, tree, cluster, "    replicas: 1\n    timeout: 2s\n");
    const d = new Daemon(config);
    try {
      await d.started();
      assert(await poll(async () => ((await messages(jsm)) ?? 0) >= 1 || undefined, 60_000, 250));
      await Deno.writeTextFile(`${tree}/big.conf`, lines("\x02"));
      assert(await waitFor(() => d.changes().length >= 1, 10_000), d.stderr);
      await Deno.writeTextFile(`${tree}/small.conf`, "x=1\n");
      assert(await waitFor(() => d.changes().length >= 2, 10_000), d.stderr);
      // Every event reaches the stream (the start record and the two changes).
      const all = await poll(async () => ((await messages(jsm)) ?? 0) >= 3 || undefined, 15_000);
      assert(all, `the stream holds ${await messages(jsm)} of 3 events: ${d.stderr}`);
      const [big, small] = d.changes();
      assertEquals(big.file?.path, `${tree}/big.conf`);
      assertEquals(small.file?.path, `${tree}/small.conf`);
      // What the agent put out is bounded, and says it was cut.
      assert(JSON.stringify(big).length <= MAX_EVENT_BYTES, `${JSON.stringify(big).length}`);
      assertEquals(big.bpfink?.truncated, true);
      checkEvent(big, "the bounded event");
      const info = await jsm.streams.info("BPFINK");
      const stored: ChangeEvent[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage("BPFINK", { seq });
        assert(m, `stream message ${seq} missing`);
        assert(m.data.length <= limit, `a message of ${m.data.length} bytes`);
        stored.push(JSON.parse(decoder.decode(m.data)));
      }
      const bigStored = stored.find((e) => e.event.id === big.event.id);
      assert(
        bigStored,
        `the large event is not in the stream: ${
          stored.map((e) => e.event.action + " " + JSON.stringify(e).length)
        } ${d.stderr}`,
      );
      assertEquals(bigStored.bpfink?.truncated, true);
      assertEquals(bigStored.file?.path, `${tree}/big.conf`);
      assert(stored.some((e) => e.event.id === small.event.id), "the event behind it is missing");
    } finally {
      await d.stop();
    }
  } finally {
    await nc.close();
  }
}

Deno.test({
  name:
    "nats: a text file of control characters any user can write makes no event too large for the server: the events behind it are delivered",
  ignore: !hasCommand("nats-server"),
  // A server taking messages of at most 16 KiB: less than the agent's bound on events.
  fn: () => tooLargeScenario(16 * 1024, false),
});

Deno.test({
  name:
    "nats: an operator's stream with a max_msg_size smaller than an event gets it cut to fit, and the events behind it",
  ignore: !hasCommand("nats-server"),
  fn: () => tooLargeScenario(6 * 1024, true),
});

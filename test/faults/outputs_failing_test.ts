/**
 * A failing output is an accessory fault like the database: on the fault
 * board (`bpfink_accessory_failing{part="output <name>"}` 1,
 * `bpfink_accessory_faults_total` counted) while it fails, off once it
 * delivers again. A real HTTP receiver that is down, then up; a file output
 * on a real tmpfs that is full, then has room.
 */
import { assert, assertEquals } from "../assert.ts";
import { run, tempDir } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import { assertNoStackTrace, smallTmpfs } from "./fault_helpers.ts";

/** The samples of `name` by their `part` label, scraped from the agent's endpoint. */
async function byPart(port: number, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new Map<string, number>();
  for (const l of text.split("\n")) {
    const r = new RegExp(`^${name}\\{part="([^"]*)"\\} (\\S+)$`).exec(l);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
}

/** Polls the endpoint until `pred` holds on `name`'s samples. */
async function until(
  port: number,
  name: string,
  pred: (m: Map<string, number>) => boolean,
  timeoutMs: number,
): Promise<Map<string, number>> {
  const end = Date.now() + timeoutMs;
  let m = new Map<string, number>();
  while (Date.now() < end) {
    m = await byPart(port, name).catch(() => new Map());
    if (pred(m)) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  return m;
}

Deno.test({
  name: "faults: an HTTP output whose receiver is down and a file output on a full disk are " +
    "on the fault board while they fail, off once they deliver",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    await using out = await smallTmpfs(dir.path, "1m");
    const watched = `${dir.path}/app.conf`;
    await Deno.writeTextFile(watched, "a=1\n");
    const [port, metricsPort] = [freePort(), freePort()];
    const config = `${dir.path}/config.yaml`;
    await Deno.writeTextFile(
      config,
      `watches:\n  - ${watched}\ndatabase: ${dir.path}/state/bpfink.db\n` +
        `key_file: ${dir.path}/state/k\nlog_level: info\nstrategy: tracepoint\n` +
        `outputs:\n  - type: stdout\n    format: json\n` +
        `  - type: file\n    path: ${out.path}/events.json\n` +
        `  - type: http\n    url: http://127.0.0.1:${port}/ingest\n    format: ndjson\n` +
        `    max_retries: 1\n    flush_interval: 100ms\n` +
        `metrics:\n  prometheus:\n    listen: 127.0.0.1:${metricsPort}\n`,
    );
    const http = `output http:127.0.0.1:${port}/ingest`;
    const file = `output file:${out.path}/events.json`;
    const received: string[] = [];
    let server: Deno.HttpServer | undefined;
    const daemon = new Daemon(config);
    try {
      await daemon.started();
      await Deno.writeTextFile(watched, "a=2\n");
      let failing = await until(
        metricsPort,
        "bpfink_accessory_failing",
        (m) => m.get(http) === 1,
        15_000,
      );
      assertEquals(failing.get(http), 1, `${[...failing]}\n${daemon.stderr}`);
      assertEquals(failing.get(file) ?? 0, 0);
      const total = await byPart(metricsPort, "bpfink_accessory_faults_total");
      assertEquals(total.get(http), 1);

      // The file output's disk fills up.
      const dd = await run(["dd", "if=/dev/zero", `of=${out.path}/fill`, "bs=4k"]);
      assert(dd.code !== 0, "dd filled the tmpfs");
      for (let i = 3; i < 40; i++) await Deno.writeTextFile(watched, `a=${i}\n`.repeat(50));
      failing = await until(
        metricsPort,
        "bpfink_accessory_failing",
        (m) => m.get(file) === 1,
        15_000,
      );
      assertEquals(failing.get(file), 1, `${[...failing]}\n${daemon.stderr}`);
      assertEquals((await byPart(metricsPort, "bpfink_accessory_faults_total")).get(file), 1);

      // Both come back: room on the disk, the receiver up.
      await Deno.remove(`${out.path}/fill`);
      server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
        received.push(...(await req.text()).split("\n").filter((l) => l));
        return new Response("ok");
      });
      failing = await until(
        metricsPort,
        "bpfink_accessory_failing",
        (m) => m.get(http) === 0 && m.get(file) === 0,
        90_000,
      );
      assertEquals([failing.get(http), failing.get(file)], [0, 0], daemon.stderr);
      assert(received.length > 0);
      assert(/output http:\S+: .*retrying/.test(daemon.stderr), daemon.stderr);
      assert(/output http:\S+: delivering again/.test(daemon.stderr), daemon.stderr);
      assert(/output file:\S+: .*No space left/.test(daemon.stderr), daemon.stderr);
    } finally {
      assertEquals(await daemon.stop(), 0, daemon.stderr);
      await server?.shutdown();
    }
    assertNoStackTrace(daemon.stderr);
  },
});

/**
 * Metrics as operators collect them: Prometheus scrapes the daemon's
 * endpoint and answers a query; carbon-cache receives the Graphite push.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { Daemon } from "./daemon.ts";
import { freePort, Service, waitForPort } from "./services.ts";

async function daemonConfig(
  dir: string,
  metrics: string,
): Promise<{ config: string; watched: string }> {
  const watched = `${dir}/app.conf`;
  await Deno.writeTextFile(watched, "a=1\n");
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${watched}\ndatabase: ${dir}/db.sqlite\nkey_file: ${dir}/hmac.key\nlog_level: warning\n` +
      `outputs:\n  - type: stdout\n    format: json\nmetrics:\n${metrics}`,
  );
  return { config, watched };
}

Deno.test("prometheus scrapes the endpoint and a query returns bpfink's counters", async () => {
  await using dir = await tempDir();
  const metricsPort = freePort();
  const { config, watched } = await daemonConfig(
    dir.path,
    `  prometheus:\n    listen: 127.0.0.1:${metricsPort}\n`,
  );
  const d = new Daemon(config);
  try {
    await d.started();
    await Deno.writeTextFile(watched, "a=2\n");
    assert(await waitFor(() => d.changes().some((e) => e.event.action === "modified")));
    const direct = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert(direct.includes('bpfink_events_total{action="modified"} 1'), direct);
    assert(
      /bpfink_kernel_object_info\{strategy="\w+",object="fim-\w+\.bpf\.o"\} 1/.test(direct),
      direct,
    );
    assert(/process_resident_memory_bytes [1-9]\d+/.test(direct), direct);

    const promPort = freePort();
    await Deno.writeTextFile(
      `${dir.path}/prometheus.yml`,
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: bpfink\n    static_configs:\n      - targets: ["127.0.0.1:${metricsPort}"]\n`,
    );
    await using _prom = new Service([
      "prometheus",
      `--config.file=${dir.path}/prometheus.yml`,
      `--storage.tsdb.path=${dir.path}/tsdb`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    await waitForPort(promPort, 30_000);
    const query = async () => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=bpfink_events_total`)
        .catch(() => undefined);
      return r?.ok
        ? (await r.json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        }
        : undefined;
    };
    let result: Awaited<ReturnType<typeof query>>;
    for (const end = Date.now() + 30_000; Date.now() < end && !result?.data.result.length;) {
      result = await query();
      if (!result?.data.result.length) await new Promise((r) => setTimeout(r, 500));
    }
    assert(result?.data.result.length, "prometheus never returned bpfink_events_total");
    const modified = result!.data.result.find((s) => s.metric.action === "modified");
    assertEquals(modified?.value[1], "1");
    assertEquals(modified?.metric.job, "bpfink");
  } finally {
    await d.stop();
  }
});

Deno.test("carbon-cache receives the Graphite push", async () => {
  await using dir = await tempDir();
  const carbonPort = freePort();
  const storage = `${dir.path}/whisper`;
  await Deno.writeTextFile(
    `${dir.path}/carbon.conf`,
    `[cache]\nSTORAGE_DIR = ${dir.path}/\nLOCAL_DATA_DIR = ${storage}/\nLOG_DIR = ${dir.path}/log/\nPID_DIR = ${dir.path}/\n` +
      `LINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = ${carbonPort}\nENABLE_UDP_LISTENER = False\n` +
      `PICKLE_RECEIVER_INTERFACE = 127.0.0.1\nPICKLE_RECEIVER_PORT = ${freePort()}\nCACHE_QUERY_INTERFACE = 127.0.0.1\n` +
      `CACHE_QUERY_PORT = ${freePort()}\nMAX_CREATES_PER_MINUTE = inf\nMAX_UPDATES_PER_SECOND = inf\n` +
      `LOG_LISTENER_CONN_SUCCESS = False\n`,
  );
  await Deno.writeTextFile(
    `${dir.path}/storage-schemas.conf`,
    "[default]\npattern = .*\nretentions = 1s:1h\n",
  );
  await Deno.mkdir(`${dir.path}/log`);
  await using _carbon = new Service(
    ["carbon-cache", `--config=${dir.path}/carbon.conf`, "--nodaemon", "--debug", "start"],
    { GRAPHITE_CONF_DIR: dir.path, GRAPHITE_STORAGE_DIR: dir.path, PATH: Deno.env.get("PATH")! },
  );
  await waitForPort(carbonPort, 30_000);
  const { config, watched } = await daemonConfig(
    dir.path,
    `  graphite:\n    address: 127.0.0.1:${carbonPort}\n    prefix: testhost\n    interval: 1s\n`,
  );
  const d = new Daemon(config);
  try {
    await d.started();
    await Deno.writeTextFile(watched, "a=3\n");
    assert(await waitFor(() => d.changes().some((e) => e.event.action === "modified")));
    const wsp = `${storage}/testhost/bpfink_events_total/modified.wsp`;
    const ok = await waitFor(() => {
      try {
        return Deno.statSync(wsp).size > 0;
      } catch {
        return false;
      }
    }, 20_000);
    assert(ok, `carbon-cache wrote no ${wsp}`);
  } finally {
    await d.stop();
  }
});

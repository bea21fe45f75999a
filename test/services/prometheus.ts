/**
 * A Prometheus server scraping one target every second, with its TSDB in a
 * temp dir and its web API on a free 127.0.0.1 port.
 *
 * @module
 */
import { freePort, Service, waitForPort } from "./service.ts";

/** One series of an instant query. */
export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus. */
export interface Prometheus extends AsyncDisposable {
  port: number;
  service: Service;
  /** An instant query through /api/v1/query; undefined while Prometheus is not ready. */
  query(q: string): Promise<PromSeries[] | undefined>;
  /** The scrape targets' health (/api/v1/targets). */
  targets(): Promise<{ health: string; lastError: string; scrapeUrl: string }[]>;
}

/** Starts Prometheus under `dir`, scraping `target` (`host:port`) at /metrics every second. */
export async function startPrometheus(dir: string, target: string): Promise<Prometheus> {
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n` +
      `scrape_configs:\n  - job_name: bpfink\n    static_configs:\n      - targets: ["${target}"]\n`,
  );
  const service = new Service([
    "prometheus",
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/tsdb`,
    `--storage.tsdb.retention.time=1h`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ]);
  try {
    await waitForPort(port, 30_000, service);
  } catch (e) {
    await service.stop();
    throw e;
  }
  const api = async <T>(path: string): Promise<T | undefined> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
    if (!r?.ok) {
      await r?.body?.cancel();
      return undefined;
    }
    return ((await r.json()) as { data: T }).data;
  };
  return {
    port,
    service,
    async query(q) {
      const d = await api<{ result: PromSeries[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`);
      return d?.result;
    },
    async targets() {
      const d = await api<
        { activeTargets: { health: string; lastError: string; scrapeUrl: string }[] }
      >(
        "/api/v1/targets",
      );
      return d?.activeTargets ?? [];
    },
    [Symbol.asyncDispose]: () => service.stop(),
  };
}

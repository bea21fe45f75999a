/**
 * Serves the registry at `/metrics` in Prometheus text format. Binds to
 * 127.0.0.1 unless told otherwise.
 *
 * @module
 */
import type { MetricsRegistry } from "./metrics_registry.ts";

/** A running endpoint. */
export interface MetricsEndpoint {
  port: number;
  close(): Promise<void>;
}

/** Starts serving `registry` on `listen` (`host:port`, port 0 picks a free one). */
export function servePrometheus(registry: MetricsRegistry, listen: string): MetricsEndpoint {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`prometheus listen must be host:port, not "${listen}"`);
  const server = Deno.serve({
    hostname: m[1] || "127.0.0.1",
    port: Number(m[2]),
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/metrics") return new Response("see /metrics\n", { status: 404 });
    return new Response(registry.prometheusText(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  });
  return { port: server.addr.port, close: () => server.shutdown() };
}

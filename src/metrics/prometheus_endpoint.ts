/**
 * Serves the registry at `/metrics` in the Prometheus text exposition format
 * 0.0.4. Binds to 127.0.0.1 unless the address names another host.
 *
 * @module
 */
import type { MetricsRegistry } from "./metrics_registry.ts";
import { errorMessage } from "../error_message.ts";

/** The content type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A running endpoint. */
export interface MetricsEndpoint {
  /** The address it listens on. */
  hostname: string;
  /** The port it listens on (the chosen one when asked for port 0). */
  port: number;
  /** `http://host:port/metrics`. */
  url: string;
  /** Stops listening. */
  close(): Promise<void>;
}

/** Parses `host:port`, `[v6]:port` or `:port` (host 127.0.0.1). */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535) {
    throw new Error(`prometheus listen must be host:port, not "${listen}"`);
  }
  return { hostname: m[1] ?? (m[2] || "127.0.0.1"), port };
}

/** Answers one request: `/metrics` (GET or HEAD), a pointer at `/`, 404 elsewhere. */
export function handleMetricsRequest(registry: MetricsRegistry, req: Request): Response {
  const url = new URL(req.url);
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  if (url.pathname === "/") {
    return new Response("bpfink metrics: /metrics\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  if (url.pathname !== "/metrics") return new Response("see /metrics\n", { status: 404 });
  return new Response(req.method === "HEAD" ? null : registry.prometheusText(), {
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}

/** Starts serving `registry` on `listen` (`host:port`; port 0 picks a free one). */
export function servePrometheus(registry: MetricsRegistry, listen: string): MetricsEndpoint {
  const { hostname, port } = parseListen(listen);
  const server = Deno.serve(
    { hostname, port, onListen: () => {} },
    (req) => handleMetricsRequest(registry, req),
  );
  const bound = server.addr.port;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    hostname,
    port: bound,
    url: `http://${host}:${bound}/metrics`,
    close: () => server.shutdown(),
  };
}

/** An endpoint that keeps trying to bind: a port taken by anyone never stops the agent. */
export interface RetryingMetricsEndpoint {
  /** The endpoint once bound (undefined while the port is taken). */
  readonly current: MetricsEndpoint | undefined;
  /** Resolves when bound (never rejects). */
  readonly bound: Promise<MetricsEndpoint>;
  /** Stops retrying and listening. */
  close(): Promise<void>;
}

/** Reports a bind failure and its recovery (the agent's FaultBoard). */
export interface BindFaults {
  fault(part: string, error: unknown, consequence: string): void;
  recovered(part: string, what?: string): void;
}

/**
 * Serves `registry` on `listen`, like `servePrometheus`, but a failure to
 * bind (the port already taken, even by an unprivileged user; the address
 * not there yet) is an accessory fault: reported through `faults`, then
 * retried with backoff (1 s doubling up to `maxDelayMs`) until it binds or
 * `close()` is called. A malformed `listen` still throws: that is a config error.
 */
export function servePrometheusRetrying(
  registry: MetricsRegistry,
  listen: string,
  faults: BindFaults,
  opts: { firstDelayMs?: number; maxDelayMs?: number } = {},
): RetryingMetricsEndpoint {
  parseListen(listen);
  let current: MetricsEndpoint | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resolveBound!: (e: MetricsEndpoint) => void;
  const bound = new Promise<MetricsEndpoint>((r) => (resolveBound = r));
  let delay = opts.firstDelayMs ?? 1000;
  const attempt = () => {
    timer = undefined;
    if (closed) return;
    try {
      current = servePrometheus(registry, listen);
      faults.recovered("metrics_endpoint", `serving ${current.url}`);
      resolveBound(current);
    } catch (e) {
      faults.fault(
        "metrics_endpoint",
        new Error(`cannot listen on ${listen}: ${errorMessage(e)}`),
        "monitoring goes on without the endpoint; retrying",
      );
      timer = setTimeout(attempt, delay);
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 60_000);
    }
  };
  attempt();
  return {
    get current() {
      return current;
    },
    bound,
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await current?.close();
    },
  };
}

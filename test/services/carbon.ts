/**
 * carbon-cache (Debian's graphite-carbon) in the foreground with its
 * config, whisper files, logs and pid under a temp dir, its plaintext line
 * receiver on a free 127.0.0.1 port, and 1-second retention.
 *
 * @module
 */
import { freePort, Service, waitForPort } from "./service.ts";

/** A running carbon-cache. */
export interface Carbon extends AsyncDisposable {
  port: number;
  /** Where the whisper files go: `${storage}/a/b/c.wsp` for metric `a.b.c`. */
  storage: string;
  service: Service;
  stop(): Promise<void>;
}

/** Starts carbon-cache under `dir` (on `port` when given, to restart on it). */
export async function startCarbon(dir: string, port = freePort()): Promise<Carbon> {
  const storage = `${dir}/whisper`;
  await Deno.mkdir(`${dir}/log`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/carbon.conf`,
    `[cache]\nSTORAGE_DIR = ${dir}/\nLOCAL_DATA_DIR = ${storage}/\nWHITELISTS_DIR = ${dir}/lists/\n` +
      `LOG_DIR = ${dir}/log/\nPID_DIR = ${dir}/\nUSER =\n` +
      `LINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = ${port}\nENABLE_UDP_LISTENER = False\n` +
      `PICKLE_RECEIVER_INTERFACE = 127.0.0.1\nPICKLE_RECEIVER_PORT = ${freePort()}\n` +
      `CACHE_QUERY_INTERFACE = 127.0.0.1\nCACHE_QUERY_PORT = ${freePort()}\n` +
      `MAX_CREATES_PER_MINUTE = inf\nMAX_UPDATES_PER_SECOND = inf\nCACHE_WRITE_STRATEGY = naive\n` +
      `LOG_LISTENER_CONN_SUCCESS = False\nLOG_UPDATES = False\nLOG_CREATES = False\n`,
  );
  await Deno.writeTextFile(
    `${dir}/storage-schemas.conf`,
    "[default]\npattern = .*\nretentions = 1s:1h\n",
  );
  const service = new Service(
    ["carbon-cache", `--config=${dir}/carbon.conf`, "--nodaemon", "start"],
    { GRAPHITE_CONF_DIR: dir, GRAPHITE_STORAGE_DIR: dir, PATH: Deno.env.get("PATH")! },
  );
  try {
    await waitForPort(port, 30_000, service);
  } catch (e) {
    await service.stop();
    throw e;
  }
  return {
    port,
    storage,
    service,
    stop: () => service.stop(),
    [Symbol.asyncDispose]: () => service.stop(),
  };
}

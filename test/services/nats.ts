/**
 * A real three-node nats-server cluster (Debian's `nats-server`) with
 * JetStream, on 127.0.0.1 with free ports and a temp store; nodes can be
 * killed and the whole cluster is stopped on dispose.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { freePort, poll, Service, waitForPort } from "./service.ts";
import { errorMessage } from "../../src/error_message.ts";

/** One node of the cluster. */
export interface NatsNode {
  name: string;
  port: number;
  service: Service;
}

/** A started cluster. */
export class NatsCluster implements AsyncDisposable {
  private constructor(readonly nodes: NatsNode[]) {}

  /** Client addresses of every node (`127.0.0.1:PORT`). */
  get servers(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /**
   * Starts `size` nodes under `dir`, each taking messages of at most
   * `maxPayload` bytes (the server's default: 1 MiB). Free ports are only free
   * until someone else binds them, so a cluster that fails to come up is
   * tried again.
   */
  static async start(dir: string, size = 3, maxPayload?: number): Promise<NatsCluster> {
    for (let attempt = 1;; attempt++) {
      try {
        return await NatsCluster.#startOnce(`${dir}/try${attempt}`, size, maxPayload);
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }

  static async #startOnce(
    dir: string,
    size: number,
    maxPayload: number | undefined,
  ): Promise<NatsCluster> {
    const ports = Array.from({ length: size }, () => ({ client: freePort(), route: freePort() }));
    const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`);
    const nodes: NatsNode[] = [];
    for (const [i, p] of ports.entries()) {
      const name = `n${i + 1}`;
      await Deno.mkdir(`${dir}/${name}`, { recursive: true });
      const conf = `${dir}/${name}.conf`;
      await Deno.writeTextFile(
        conf,
        [
          `server_name: ${name}`,
          `listen: 127.0.0.1:${p.client}`,
          ...(maxPayload ? [`max_payload: ${maxPayload}`] : []),
          `jetstream { store_dir: "${dir}/${name}" }`,
          `cluster {`,
          `  name: bpfink-test`,
          `  listen: 127.0.0.1:${p.route}`,
          `  routes: [${routes.filter((_, j) => j !== i).join(", ")}]`,
          `}`,
        ].join("\n") + "\n",
      );
      nodes.push({ name, port: p.client, service: new Service(["nats-server", "-c", conf]) });
    }
    const cluster = new NatsCluster(nodes);
    try {
      for (const n of nodes) await waitForPort(n.port, 15_000, n.service);
    } catch (e) {
      await cluster[Symbol.asyncDispose]();
      throw e;
    }
    return cluster;
  }

  /** A client connection to the nodes still running. */
  connect(): Promise<NatsConnection> {
    return connect({
      servers: this.nodes.filter((n) => !n.service.exited).map((n) => `127.0.0.1:${n.port}`),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  }

  /** Runs `fn` until it succeeds (JetStream needs a meta leader first) or `ms` passes. */
  async retry<T>(fn: () => Promise<T>, ms = 30_000): Promise<T> {
    let last: unknown;
    const got = await poll(
      async () => {
        try {
          return { v: await fn() };
        } catch (e) {
          last = e;
          return undefined;
        }
      },
      ms,
      250,
    );
    if (!got) {
      throw new Error(
        `nats cluster not ready: ${errorMessage(last)}\n` +
          this.nodes.map((n) => `--- ${n.name} ---\n${n.service.output.slice(-1500)}`).join("\n"),
      );
    }
    return got.v;
  }

  /** Kills one node with SIGKILL (a crash, not a shutdown). */
  async kill(node: NatsNode): Promise<void> {
    node.service.child.kill("SIGKILL");
    await node.service.child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.service.stop()));
  }
}

/**
 * The syslog output: change events as RFC 5424 messages (rfc5424.ts) over
 * UDP, TCP or a local unix socket (transports.ts), through a bounded queue;
 * what cannot be delivered is counted as dropped.
 *
 * @module
 */
import denoJson from "../../../deno.json" with { type: "json" };
import type { ChangeEvent } from "../../pipeline/change_event.ts";
import { QueuedOutput, type QueueOptions } from "../queued_output.ts";
import {
  checkSdId,
  FACILITIES,
  formatRfc5424,
  MAX_MESSAGE_BYTES,
  type Rfc5424Options,
} from "./rfc5424.ts";
import {
  hostPort,
  octetFrame,
  StreamTransport,
  type Transport,
  UdpTransport,
  UnixTransport,
} from "./transports.ts";

/** Options beyond the config's. */
export interface SyslogOptions extends Partial<QueueOptions> {
  /** Largest message in bytes (default `MAX_MESSAGE_BYTES`). */
  maxMessageBytes?: number;
  /** HOSTNAME for events without `host.hostname` (default `Deno.hostname()`). */
  hostname?: string;
  /** A private SD-ID, `name@PEN` (see {@link checkSdId}). */
  sdId?: string;
}

/** Sends events to syslog. */
export class SyslogOutput extends QueuedOutput {
  readonly name: string;
  readonly format: Rfc5424Options;
  readonly #transport: Transport;

  /**
   * `transport` and `address` as in the config (`host:port`, or a socket
   * path for unix); `facility` by name; `capacity` is the config's `buffer`.
   */
  constructor(
    readonly transport: "udp" | "tcp" | "unix",
    readonly address: string,
    readonly appName = "bpfink",
    facility = "authpriv",
    capacity = 10_000,
    opts: SyslogOptions = {},
  ) {
    super({
      capacity,
      batchSize: 64,
      maxRetries: 6,
      backoffBaseMs: 200,
      backoffMaxMs: 10_000,
      ...opts,
    });
    const f = FACILITIES[facility];
    if (f === undefined) {
      throw new Error(
        `unknown syslog facility "${facility}" (one of ${Object.keys(FACILITIES).join(", ")})`,
      );
    }
    this.name = `syslog:${transport}:${address}`;
    this.format = {
      facility: f,
      appName,
      hostname: opts.hostname ?? Deno.hostname(),
      procId: Deno.pid,
      maxBytes: opts.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      swVersion: denoJson.version,
      ...(opts.sdId ? { sdId: checkSdId(opts.sdId) } : {}),
    };
    if (transport === "unix") {
      if (!address.startsWith("/")) {
        throw new Error(`syslog unix socket must be an absolute path, not "${address}"`);
      }
      this.#transport = new UnixTransport(address);
    } else {
      const { hostname, port } = hostPort(address);
      this.#transport = transport === "udp"
        ? new UdpTransport(hostname, port)
        : new StreamTransport(
          (signal) => Deno.connect({ transport: "tcp", hostname, port, signal }),
          octetFrame,
        );
    }
  }

  protected send(batch: ChangeEvent[], signal: AbortSignal): Promise<void> {
    return this.#transport.send(batch.map((e) => formatRfc5424(e, this.format)), signal);
  }

  protected override release(): Promise<void> {
    this.#transport.close();
    return Promise.resolve();
  }
}

/**
 * RFC 5424 syslog over UDP, TCP (octet-counting framing, RFC 6587) or a unix
 * stream socket. The message is the event as JSON; MSGID is event.action.
 *
 * @module
 */
import type { ChangeEvent } from "../events/change_event.ts";
import { QueuedOutput } from "./queued_output.ts";

const encoder = new TextEncoder();

const FACILITIES: Record<string, number> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** UDP datagrams larger than this are cut (RFC 5426 says 480+ must work; 8 KiB is safe on loopback and LANs). */
export const MAX_UDP_BYTES = 8192;

/** Severity for an event: notice for changes, warning for changes to identity and privilege. */
function severity(e: ChangeEvent): number {
  return e.event.category.includes("iam") ? 4 : 5;
}

const sdEscape = (s: string) => s.replace(/[\\"\]]/g, (c) => `\\${c}`);
const header = (
  s: string | undefined,
  max: number,
) => (s ? s.replace(/[^\x21-\x7e]/g, "_").slice(0, max) : "-");

/** Formats one RFC 5424 message (without transport framing). */
export function formatRfc5424(
  e: ChangeEvent,
  facility: number,
  appName: string,
  hostname: string,
): string {
  const pri = facility * 8 + severity(e);
  const sd = `[bpfink@32473 action="${sdEscape(e.event.action)}"${
    e.file?.path ? ` path="${sdEscape(e.file.path)}"` : ""
  }]`;
  return `<${pri}>1 ${e["@timestamp"]} ${header(hostname, 255)} ${
    header(appName, 48)
  } ${Deno.pid} ` +
    `${header(e.event.action, 32)} ${sd} ${JSON.stringify(e)}`;
}

/** Parses `host:port`. */
export function hostPort(address: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`syslog address must be host:port, not "${address}"`);
  return { hostname: m[1], port: Number(m[2]) };
}

/** Sends events to syslog. */
export class SyslogOutput extends QueuedOutput {
  readonly name: string;
  readonly #facility: number;
  readonly #hostname = Deno.hostname();
  #udp?: Deno.DatagramConn;
  #stream?: Deno.Conn;

  constructor(
    readonly transport: "udp" | "tcp" | "unix",
    readonly address: string,
    readonly appName = "bpfink",
    facility = "authpriv",
    capacity = 10_000,
  ) {
    super(capacity, 64);
    const f = FACILITIES[facility];
    if (f === undefined) throw new Error(`unknown syslog facility "${facility}"`);
    this.#facility = f;
    this.name = `syslog:${transport}:${address}`;
    if (transport !== "unix") hostPort(address);
  }

  protected async send(batch: ChangeEvent[]): Promise<void> {
    const msgs = batch.map((e) => formatRfc5424(e, this.#facility, this.appName, this.#hostname));
    if (this.transport === "udp") {
      const { hostname, port } = hostPort(this.address);
      this.#udp ??= Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
      for (const m of msgs) {
        const bytes = encoder.encode(m);
        await this.#udp.send(bytes.subarray(0, MAX_UDP_BYTES), {
          transport: "udp",
          hostname,
          port,
        });
      }
      return;
    }
    try {
      this.#stream ??= this.transport === "tcp"
        ? await Deno.connect({ transport: "tcp", ...hostPort(this.address) })
        : await Deno.connect({ transport: "unix", path: this.address });
      const framed = msgs.map((m) => {
        const b = encoder.encode(m);
        return `${b.length} ${m}`;
      }).join("");
      const bytes = encoder.encode(framed);
      let off = 0;
      while (off < bytes.length) off += await this.#stream.write(bytes.subarray(off));
    } catch (e) {
      // Reconnect on the next try.
      this.#stream?.close();
      this.#stream = undefined;
      throw e;
    }
  }

  protected override release(): Promise<void> {
    this.#udp?.close();
    this.#stream?.close();
    this.#udp = undefined;
    this.#stream = undefined;
    return Promise.resolve();
  }
}

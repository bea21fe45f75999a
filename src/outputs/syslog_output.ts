/**
 * RFC 5424 syslog over UDP (one datagram per message, RFC 5426), TCP
 * (octet-counting framing, RFC 6587) or a local unix socket (datagram, like
 * `/dev/log`; a stream socket is detected and gets newline framing).
 *
 *     <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG
 *
 * MSG is the event as JSON, MSGID is `event.action`, and the structured data
 * `[origin software="bpfink" swVersion="…"]`, plus, with an operator's
 * `sd_id`, an element repeating the fields a syslog filter needs. A message longer than `maxMessageBytes` is shrunk so that MSG
 * stays valid JSON (long strings and arrays are cut, `bpfink.truncated` is
 * set). Connections are opened lazily and reopened with backoff after an
 * error; what cannot be delivered is counted as dropped.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import type { ChangeEvent } from "../events/change_event.ts";
import { QueuedOutput, type QueueOptions } from "./queued_output.ts";

const encoder = new TextEncoder();

/** Syslog facility codes by name (RFC 5424 table 1). */
export const FACILITIES: Readonly<Record<string, number>> = {
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

/**
 * Default largest message (bytes, header included). rsyslog and syslog-ng
 * accept 8 KiB by default, and an 8 KiB datagram fits any loopback or LAN path.
 */
export const MAX_MESSAGE_BYTES = 8192;

/**
 * Structured data. RFC 5424 §7.2.2 keeps SD-IDs without `@` for names IANA
 * registered, and a private SD-ID must be `name@<private enterprise number>`
 * of whoever defines it. bpfink has no enterprise number of its own (and
 * 32473 is the number reserved for documentation, RFC 5612), so by default it
 * sends only the registered `origin` element (software and version), which
 * every receiver may rely on; an operator who owns a number sets `sd_id`
 * (e.g. `bpfink@<their PEN>`) to add an element with the event's id, action,
 * reason, severity and path. MSGID and the JSON MSG carry everything anyway.
 */
const SD_ID_SYNTAX = /^[^\s=\]"@]{1,32}@\d+(\.\d+)*$/;

/** Checks an operator's SD-ID (`name@PEN`, RFC 5424 §7.2.2); throws with the reason. */
export function checkSdId(sdId: string): string {
  if (!SD_ID_SYNTAX.test(sdId) || sdId.length > 32 || /[^\x21-\x7e]/.test(sdId)) {
    throw new Error(
      `syslog sd_id must be name@<private enterprise number> (RFC 5424 7.2.2), at most 32 printable characters, not "${sdId}"`,
    );
  }
  return sdId;
}

/** Severity: warning for identity and privilege changes and alerts, info for the start record, notice otherwise. */
export function severity(e: ChangeEvent): number {
  if (e.event.kind === "alert" || e.event.category.includes("iam")) return 4;
  if (e.event.action === "started") return 6;
  return 5;
}

/** How to format messages. */
export interface Rfc5424Options {
  /** Facility code (see `FACILITIES`). */
  facility: number;
  appName: string;
  /** Used when the event has no `host.hostname`. */
  hostname: string;
  procId: number | string;
  /** Largest message in bytes (header included). */
  maxBytes: number;
  /** A private SD-ID (`name@PEN`) for bpfink's own element; none by default. */
  sdId?: string;
  /** bpfink's version, for the `origin` element. */
  swVersion?: string;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$/;

/** A header field: printable US-ASCII only, at most `max` characters, `-` when empty. */
function headerField(s: string | number | undefined, max: number): string {
  const v = s === undefined ? "" : String(s).replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return v || "-";
}

/** A PARAM-VALUE: `"`, `\` and `]` escaped (RFC 5424 section 6.3.3). */
const sdValue = (s: string) => s.replace(/[\\"\]]/g, (c) => `\\${c}`);

function element(id: string, params: [string, string | undefined][]): string {
  return `[${id}${
    params.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => ` ${k}="${sdValue(v!)}"`)
      .join("")
  }]`;
}

function structuredData(e: ChangeEvent, o: Rfc5424Options): string {
  const origin = element("origin", [["software", "bpfink"], ["swVersion", o.swVersion]]);
  if (!o.sdId) return origin;
  return origin + element(o.sdId, [
    ["id", e.event.id],
    ["action", e.event.action],
    ["reason", e.event.reason],
    ["severity", e.bpfink?.severity as string | undefined],
    ["path", e.file?.path],
  ]);
}

/** The header and structured data, up to MSG (ends with a space). */
function headerOf(e: ChangeEvent, o: Rfc5424Options): string {
  const pri = o.facility * 8 + severity(e);
  const ts = RFC3339.test(e["@timestamp"]) ? e["@timestamp"] : new Date().toISOString();
  return `<${pri}>1 ${ts} ${headerField(e.host?.hostname || o.hostname, 255)} ${
    headerField(o.appName, 48)
  } ${headerField(o.procId, 128)} ${headerField(e.event.action, 32)} ${structuredData(e, o)} `;
}

/** JSON of `e` with strings cut to `maxString` characters and arrays to `maxItems` entries. */
function shrunkJson(e: ChangeEvent, maxString: number, maxItems: number): string {
  const cut = { ...e, bpfink: { ...e.bpfink, truncated: true } };
  return JSON.stringify(cut, (_k, v) => {
    if (typeof v === "string" && v.length > maxString) {
      return `${v.slice(0, maxString)}…(${v.length - maxString} more)`;
    }
    if (Array.isArray(v) && v.length > maxItems) {
      return [...v.slice(0, maxItems), `…(${v.length - maxItems} more)`];
    }
    return v;
  });
}

/** The longest prefix of `bytes` that is at most `max` bytes and ends on a UTF-8 character boundary. */
function cutUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/**
 * One RFC 5424 message (without transport framing), at most `o.maxBytes`
 * bytes. MSG stays valid JSON unless even the event's bare essentials do not
 * fit (then it is cut at a character boundary).
 */
export function formatRfc5424(e: ChangeEvent, o: Rfc5424Options): Uint8Array {
  const head = headerOf(e, o);
  const full = encoder.encode(head + JSON.stringify(e));
  if (full.length <= o.maxBytes) return full;
  for (const [s, n] of [[2048, 64], [512, 16], [128, 4], [32, 1]]) {
    const m = encoder.encode(head + shrunkJson(e, s, n));
    if (m.length <= o.maxBytes) return m;
  }
  const bare: ChangeEvent = {
    "@timestamp": e["@timestamp"],
    event: e.event,
    ...(e.file ? { file: { path: e.file.path } } : {}),
    ...(e.ecs ? { ecs: e.ecs } : {}),
    ...(e.host ? { host: e.host } : {}),
    ...(e.agent ? { agent: e.agent } : {}),
    bpfink: { truncated: true },
  };
  return cutUtf8(encoder.encode(head + JSON.stringify(bare)), o.maxBytes);
}

/** Parses `host:port` (`[v6]:port` for IPv6). */
export function hostPort(address: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new Error(`syslog address must be host:port, not "${address}"`);
  }
  return { hostname: m[1] ?? m[2], port };
}

/** Sends framed messages over one kind of socket. */
interface Transport {
  send(msgs: Uint8Array[], signal: AbortSignal): Promise<void>;
  close(): void;
}

/** Connects within `ms`; a connection that hangs is abandoned. */
const CONNECT_TIMEOUT_MS = 5000;

function closeQuietly(c: { close(): void } | undefined): void {
  try {
    c?.close();
  } catch {
    // already closed
  }
}

function needsUnstableNet(what: string): void {
  if (typeof Deno.listenDatagram !== "function") {
    throw new Error(
      `syslog over ${what} needs Deno's --unstable-net (deno.json "unstable": ["net"])`,
    );
  }
}

/** UDP: one datagram per message. Sending cannot tell whether anyone listens. */
class UdpTransport implements Transport {
  #sock?: Deno.DatagramConn;
  constructor(readonly hostname: string, readonly port: number) {
    needsUnstableNet("udp");
  }
  async send(msgs: Uint8Array[]): Promise<void> {
    const local = this.hostname.includes(":")
      ? (this.hostname === "::1" ? "::1" : "::")
      : (this.hostname.startsWith("127.") || this.hostname === "localhost"
        ? "127.0.0.1"
        : "0.0.0.0");
    try {
      this.#sock ??= Deno.listenDatagram({ transport: "udp", hostname: local, port: 0 });
      for (const m of msgs) {
        await this.#sock.send(m, { transport: "udp", hostname: this.hostname, port: this.port });
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }
  close(): void {
    closeQuietly(this.#sock);
    this.#sock = undefined;
  }
}

/**
 * A stream connection (TCP or unix) with `frame` applied to each message.
 * A reader watches the socket so a receiver that closed it is noticed before
 * the next write, not after it was lost in the send buffer.
 */
class StreamTransport implements Transport {
  #conn?: Deno.Conn;
  constructor(
    readonly connect: (signal: AbortSignal) => Promise<Deno.Conn>,
    readonly frame: (m: Uint8Array) => Uint8Array,
  ) {}

  async send(msgs: Uint8Array[], signal: AbortSignal): Promise<void> {
    try {
      if (!this.#conn) {
        const conn = await this.connect(
          AbortSignal.any([signal, AbortSignal.timeout(CONNECT_TIMEOUT_MS)]),
        );
        this.#conn = conn;
        this.#watch(conn);
      }
      const parts = msgs.map(this.frame);
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      const conn = this.#conn;
      const onAbort = () => this.close();
      signal.addEventListener("abort", onAbort);
      try {
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    } catch (e) {
      // Reconnect on the next attempt.
      this.close();
      throw e;
    }
  }

  async #watch(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(1024);
    try {
      while ((await conn.read(buf)) !== null) {
        // Receivers do not talk back; whatever they send is ignored.
      }
    } catch {
      // closed by us, or reset
    }
    if (this.#conn === conn) this.close();
  }

  close(): void {
    const c = this.#conn;
    this.#conn = undefined;
    closeQuietly(c);
  }
}

/** Octet-counting framing (RFC 6587 3.4.1): `LENGTH SP MESSAGE`, length in bytes. */
export function octetFrame(m: Uint8Array): Uint8Array {
  const head = encoder.encode(`${m.length} `);
  const out = new Uint8Array(head.length + m.length);
  out.set(head);
  out.set(m, head.length);
  return out;
}

/** Non-transparent framing: the message and a newline (MSG is JSON, which has no raw newline). */
function lfFrame(m: Uint8Array): Uint8Array {
  const out = new Uint8Array(m.length + 1);
  out.set(m);
  out[m.length] = 0x0a;
  return out;
}

/**
 * A local unix socket: datagrams, like `/dev/log` (rsyslog's imuxsock,
 * journald); if the socket turns out to be a stream socket (syslog-ng
 * `unix-stream()`), newline-framed messages over a stream.
 */
class UnixTransport implements Transport {
  #dgram?: Deno.DatagramConn;
  #dir?: string;
  #stream?: StreamTransport;
  constructor(readonly path: string) {
    needsUnstableNet("unix sockets");
  }

  async send(msgs: Uint8Array[], signal: AbortSignal): Promise<void> {
    if (this.#stream) return this.#stream.send(msgs, signal);
    try {
      if (!this.#dgram) {
        // A datagram socket needs a bound name to send from; it is unlinked at once.
        this.#dir = await Deno.makeTempDir({ prefix: "bpfink-syslog-" });
        this.#dgram = Deno.listenDatagram({ transport: "unixpacket", path: `${this.#dir}/s` });
        await Deno.remove(this.#dir, { recursive: true });
        this.#dir = undefined;
      }
      for (const m of msgs) {
        await this.#dgram.send(m, { transport: "unixpacket", path: this.path });
      }
    } catch (e) {
      this.close();
      if (/os error 91\b|wrong type/i.test(String(e))) {
        this.#stream = new StreamTransport(
          () => Deno.connect({ transport: "unix", path: this.path }),
          lfFrame,
        );
        return this.#stream.send(msgs, signal);
      }
      throw e;
    }
  }

  close(): void {
    closeQuietly(this.#dgram);
    this.#dgram = undefined;
    this.#stream?.close();
    if (this.#dir) Deno.remove(this.#dir, { recursive: true }).catch(() => {});
    this.#dir = undefined;
  }
}

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

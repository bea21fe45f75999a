/**
 * The sockets syslog messages travel over: UDP (one datagram per message,
 * RFC 5426), TCP (octet-counting framing, RFC 6587) and a local unix socket
 * (datagram, like `/dev/log`; a stream socket is detected and gets newline
 * framing). Connections are opened lazily and reopened after an error.
 *
 * @module
 */

const encoder = new TextEncoder();

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
export interface Transport {
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
export class UdpTransport implements Transport {
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
export class StreamTransport implements Transport {
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
export class UnixTransport implements Transport {
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

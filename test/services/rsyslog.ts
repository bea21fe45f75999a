/**
 * rsyslogd in the foreground (`-n -f conf -i pidfile`) with imudp, imtcp and
 * a unix datagram socket on temp addresses, writing every message it parses
 * to a file, one tab-separated line per message:
 *
 *     PRI  VERSION  TIMESTAMP  HOSTNAME  APP-NAME  PROCID  MSGID  SD  MSG
 *
 * @module
 */
import { freePort, freeUdpPort, poll, Service, waitForPort } from "./service.ts";

/** One message as rsyslog parsed it. */
export interface Received {
  pri: number;
  version: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: string;
  msg: string;
  /** The raw line (for messages). */
  line: string;
}

/** A running rsyslogd. */
export interface Rsyslog extends AsyncDisposable {
  udpPort: number;
  tcpPort: number;
  /** A datagram unix socket, like /dev/log. */
  unixSocket: string;
  service: Service;
  /** Messages received so far. */
  received(): Received[];
  /** Waits until at least `n` messages arrived; returns them. */
  waitFor(n: number, ms?: number): Promise<Received[]>;
  stop(): Promise<void>;
}

/** Starts rsyslogd with everything under `dir`; fixed ports when given (to restart on them). */
export async function startRsyslog(
  dir: string,
  ports: { udp?: number; tcp?: number } = {},
): Promise<Rsyslog> {
  const udpPort = ports.udp ?? freeUdpPort();
  const tcpPort = ports.tcp ?? freePort();
  const unixSocket = `${dir}/log.sock`;
  const out = `${dir}/received.log`;
  await Deno.mkdir(`${dir}/work`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/rsyslog.conf`,
    `global(workDirectory="${dir}/work" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
module(load="imudp")
module(load="imtcp")
input(type="imuxsock" Socket="${unixSocket}" UseSpecialParser="off" ParseHostname="on" IgnoreTimestamp="off")
input(type="imudp" address="127.0.0.1" port="${udpPort}")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}")
template(name="fields" type="string"
  string="%pri%\\t%protocol-version%\\t%timereported:::date-rfc3339%\\t%hostname%\\t%app-name%\\t%procid%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
*.* action(type="omfile" file="${out}" template="fields")
`,
  );
  const service = new Service([
    "rsyslogd",
    "-n",
    "-f",
    `${dir}/rsyslog.conf`,
    "-i",
    `${dir}/rsyslogd.pid`,
  ]);
  try {
    await waitForPort(tcpPort, 15_000, service);
    if (!await poll(() => exists(unixSocket), 5000, 20)) throw service.fail(`no ${unixSocket}`);
  } catch (e) {
    await service.stop();
    throw e;
  }
  const received = (): Received[] => {
    let text = "";
    try {
      text = Deno.readTextFileSync(out);
    } catch {
      return [];
    }
    // Only whole lines: rsyslogd's omfile may have written part of the last one so far.
    text = text.slice(0, text.lastIndexOf("\n") + 1);
    return text.split("\n").filter((l) => l).map((line) => {
      const [pri, version, timestamp, hostname, appName, procId, msgId, sd, ...msg] = line.split(
        "\t",
      );
      return {
        pri: Number(pri),
        version,
        timestamp,
        hostname,
        appName,
        procId,
        msgId,
        sd,
        msg: msg.join("\t"),
        line,
      };
    });
  };
  return {
    udpPort,
    tcpPort,
    unixSocket,
    service,
    received,
    async waitFor(n, ms = 10_000) {
      await poll(() => received().length >= n || undefined, ms, 50);
      return received();
    },
    stop: () => service.stop(),
    [Symbol.asyncDispose]: () => service.stop(),
  };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

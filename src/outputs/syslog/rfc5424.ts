/**
 * RFC 5424 syslog messages for change events:
 *
 *     <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG
 *
 * MSG is the event as JSON, MSGID is `event.action`, and the structured data
 * `[origin software="bpfink" swVersion="…"]`, plus, with an operator's
 * `sd_id`, an element repeating the fields a syslog filter needs. A message
 * longer than `maxBytes` is shrunk so that MSG stays valid JSON
 * (pipeline/event_size.ts: long strings and arrays are cut,
 * `bpfink.truncated` is set). Every header field and
 * parameter value is escaped or cut to what the RFC allows.
 *
 * @module
 */
import type { ChangeEvent } from "../../pipeline/change_event.ts";
import { bareEvent, fitEvent } from "../../pipeline/event_size.ts";

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
  const head = encoder.encode(headerOf(e, o));
  const fitted = fitEvent(e, o.maxBytes - head.length);
  const msg = encoder.encode(fitted?.json ?? JSON.stringify(bareEvent(e)));
  const out = new Uint8Array(head.length + msg.length);
  out.set(head);
  out.set(msg, head.length);
  return cutUtf8(out, o.maxBytes);
}

/**
 * How large an event may be, and how one too large is made to fit. What an
 * event carries comes in part from files and names an attacker chooses (a
 * line diff of a text file a user can write, a path, a process name): left
 * unbounded, one event of megabytes is one a sink refuses (NATS' max_payload
 * is 1 MiB by default, an HTTP receiver's body limit often as much), and an
 * output that must deliver in order would hold up every event behind it.
 *
 * An event too large is shrunk so that its JSON stays valid and says so:
 * long strings and arrays are cut, each cut says how much it left out, and
 * `bpfink.truncated` is set. What is cut was already redacted (password
 * hashes are redacted from whole lines before any cut), so a cut never
 * shows part of a secret.
 *
 * @module
 */
import type { ChangeEvent } from "./change_event.ts";

/**
 * The largest event (its JSON, in bytes) the agent hands to its outputs and
 * keeps: a line diff of 200 lines of 300 characters a side fits, and a batch
 * of 16 fits a receiver's 1 MiB body limit.
 */
export const MAX_EVENT_BYTES = 64 * 1024;

/** Steps of shrinking: strings cut to the first number of characters, arrays to the second. */
const STEPS: readonly (readonly [number, number])[] = [[2048, 64], [512, 16], [128, 4], [32, 1]];

const encoder = new TextEncoder();

/** UTF-8 bytes of `s`, counted without encoding it when it cannot be over `max`. */
function utf8Over(s: string, max: number): boolean {
  if (s.length * 3 <= max) return false;
  if (s.length > max) return true;
  return encoder.encode(s).length > max;
}

/** Characters of `file.path` kept at every step: which file it is, but for the longest paths. */
const PATH_KEPT = 1024;

/**
 * `s` cut to `max` characters (one less rather than half a surrogate pair),
 * saying how many it left out; `s` itself when it is no longer.
 */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  const end = max > 0 && (s.charCodeAt(max - 1) & 0xfc00) === 0xd800 ? max - 1 : max;
  return `${s.slice(0, end)}…(${s.length - end} more)`;
}

const cutPath = (path: string) => cutText(path, PATH_KEPT);

/**
 * What is never cut: when and what happened (`event.id` names the event
 * to every sink and its duplicate checks), and where it comes from. The
 * bare event keeps them too.
 */
const KEPT_WHOLE = new Set(["@timestamp", "event", "ecs", "host", "agent"]);

/**
 * `e` with strings cut to `maxString` characters and arrays to `maxItems`
 * entries, but for KEPT_WHOLE.
 */
function shrunk(e: ChangeEvent, maxString: number, maxItems: number): ChangeEvent {
  const cut = (v: unknown): unknown => {
    if (typeof v === "string") {
      return cutText(v, maxString);
    }
    if (Array.isArray(v)) {
      const kept = v.slice(0, maxItems).map(cut);
      return v.length > maxItems ? [...kept, `…(${v.length - maxItems} more)`] : kept;
    }
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cut(x)]));
    }
    return v;
  };
  const out = Object.fromEntries(
    Object.entries(e).map(([k, v]) => [k, KEPT_WHOLE.has(k) ? v : cut(v)]),
  ) as unknown as ChangeEvent;
  const path = e.file?.path;
  if (out.file && path !== undefined) out.file = { ...out.file, path: cutPath(path) };
  out.bpfink = { ...out.bpfink, truncated: true };
  return out;
}

/**
 * What of `e` is kept when nothing else fits: when and what happened, to
 * which path (its first PATH_KEPT characters), from which host and agent.
 */
export function bareEvent(e: ChangeEvent): ChangeEvent {
  const path = e.file?.path;
  return {
    "@timestamp": e["@timestamp"],
    event: e.event,
    ...(path !== undefined ? { file: { path: cutPath(path) } } : {}),
    ...(e.ecs ? { ecs: e.ecs } : {}),
    ...(e.host ? { host: e.host } : {}),
    ...(e.agent ? { agent: e.agent } : {}),
    bpfink: { truncated: true },
  } as ChangeEvent;
}

/** An event that fits, and its JSON. */
export interface Fitted {
  event: ChangeEvent;
  json: string;
}

/**
 * `e` and its JSON when that is at most `maxBytes` bytes of UTF-8; otherwise
 * the first shrunk copy that is (see the module's doc), down to the bare
 * event; undefined when not even that fits.
 */
export function fitEvent(e: ChangeEvent, maxBytes: number): Fitted | undefined {
  const json = JSON.stringify(e);
  if (!utf8Over(json, maxBytes)) return { event: e, json };
  for (const [s, n] of STEPS) {
    const event = shrunk(e, s, n);
    const j = JSON.stringify(event);
    if (!utf8Over(j, maxBytes)) return { event, json: j };
  }
  const event = bareEvent(e);
  const j = JSON.stringify(event);
  return utf8Over(j, maxBytes) ? undefined : { event, json: j };
}

/** `e` itself when its JSON is at most MAX_EVENT_BYTES bytes, else a shrunk copy (fitEvent). */
export function boundEvent(e: ChangeEvent): ChangeEvent {
  return boundFitted(e).event;
}

/** boundEvent(), with the JSON it measured (what keeping the event costs, roughly). */
export function boundFitted(e: ChangeEvent): Fitted {
  const fitted = fitEvent(e, MAX_EVENT_BYTES);
  const event = fitted?.event ?? bareEvent(e);
  const json = fitted?.json ?? JSON.stringify(event);
  measured.set(event, json.length);
  return { event, json };
}

/** The JSON length of each event boundFitted() gave. */
const measured = new WeakMap<ChangeEvent, number>();

/** The length of `e`'s JSON (measured once, where boundFitted() gave it): what queueing it costs, roughly. */
export function eventBytes(e: ChangeEvent): number {
  return measured.get(e) ?? JSON.stringify(e).length;
}

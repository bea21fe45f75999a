/**
 * Secret files: no content, and no plain hash, anywhere. A file marked
 * `secret: true` is kept as keyed fingerprints of its lines (so a change can
 * be counted, never read), whatever consumer it has; it and the password
 * files (shadow, gshadow and their backups) carry a keyed fingerprint (HMAC
 * with the host key) instead of `file.hash.sha256`, which would be open to
 * offline guessing of low-entropy content.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { FileState } from "../watch/file_state.ts";
import type { ConsumerContext } from "./consumer.ts";
import { lastName } from "../watch/path_names.ts";

/** Prefix of a keyed fingerprint where a sha256 would be. */
export const FINGERPRINT_PREFIX = "hmac-sha256:";

const PASSWORD_FILES = new Set(["shadow", "gshadow", "shadow-", "gshadow-"]);

/** Whether `path` gets a keyed fingerprint instead of a sha256. */
export function hashIsSecret(path: string, secret: boolean): boolean {
  return secret || PASSWORD_FILES.has(lastName(path));
}

const latin1 = new TextDecoder("latin1");

/**
 * `state` with its sha256 replaced by a keyed fingerprint of its content;
 * without content (too large, or a state kept without it) the hash is
 * dropped. A state already fingerprinted is returned as it is.
 */
export function keyedState(
  state: FileState | undefined,
  ctx: ConsumerContext,
): FileState | undefined {
  if (!state || state.sha256 === undefined || state.sha256.startsWith(FINGERPRINT_PREFIX)) {
    return state;
  }
  const sha256 = state.content
    ? FINGERPRINT_PREFIX + ctx.fingerprint(latin1.decode(state.content))
    : undefined;
  return { ...state, sha256 };
}

/** The snapshot of a secret file: a keyed fingerprint per line, nothing readable. */
export function secretSnapshot(text: string, ctx: ConsumerContext): { secret_lines: string[] } {
  return { secret_lines: text.split("\n").map((l) => ctx.fingerprint(l)) };
}

/** Whether `snap` is a secretSnapshot. */
export function isSecretSnapshot(snap: unknown): boolean {
  return typeof snap === "object" && snap !== null &&
    Array.isArray((snap as { secret_lines?: unknown }).secret_lines);
}

/** Lines added and removed between two secret snapshots (as multisets), counts only. */
export function secretLineCounts(
  before: unknown,
  after: unknown,
): { added: number; removed: number } | undefined {
  if (!isSecretSnapshot(before) || !isSecretSnapshot(after)) return undefined;
  const a = (before as { secret_lines: string[] }).secret_lines;
  const b = (after as { secret_lines: string[] }).secret_lines;
  const left = new Map<string, number>();
  for (const l of a) left.set(l, (left.get(l) ?? 0) + 1);
  let added = 0;
  for (const l of b) {
    const n = left.get(l) ?? 0;
    if (n > 0) left.set(l, n - 1);
    else added++;
  }
  let removed = 0;
  for (const n of left.values()) removed += n;
  return { added, removed };
}

/** Moves keyed fingerprints out of `file.hash.sha256` (and `bpfink.before`) into `bpfink.fingerprint`. */
export function withKeyedHashes(e: ChangeEvent): ChangeEvent {
  const fp = e.file?.hash?.sha256;
  if (e.file?.hash) {
    const { hash: _hash, ...file } = e.file;
    e.file = file;
  }
  const before = e.bpfink?.before as { hash?: unknown } | undefined;
  if (before?.hash) {
    const { hash: _h, ...rest } = before;
    e.bpfink = { ...e.bpfink, before: rest };
  }
  if (fp?.startsWith(FINGERPRINT_PREFIX)) e.bpfink = { ...e.bpfink, fingerprint: fp };
  return e;
}

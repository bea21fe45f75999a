/**
 * Tells whether the host key is the one the baseline was made with: the
 * database keeps a keyed check value (HMAC of a fixed label, revealing
 * nothing about the key). A different key makes every stored fingerprint
 * meaningless, so the baseline is dropped and rebuilt once, and the change
 * is reported as `key_changed`, never as password changes.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import type { BaselineStore } from "./baseline_store.ts";

const LABEL = "bpfink host key check v1";

/** The check value of `key`. */
export function keyCheckValue(key: Uint8Array): string {
  return createHmac("sha256", key).update(LABEL).digest("hex").slice(0, 32);
}

/**
 * Compares `key` with the one the baseline was made with; when it differs,
 * drops the baseline (rebuilt silently on this start) and returns true.
 * A database without a check value (first start) just records it.
 */
export function checkHostKey(store: BaselineStore, key: Uint8Array): boolean {
  const now = keyCheckValue(key);
  const before = store.meta("key_check");
  if (before === now) return false;
  if (before !== undefined) store.clearBaseline();
  store.setMeta("key_check", now);
  return before !== undefined;
}

/**
 * The per-host secret key behind secret fingerprints (HMAC): created once,
 * 0600 root-only, never logged.
 *
 * @module
 */
import { dirname } from "node:path";

/** Key length in bytes. */
export const KEY_BYTES = 32;

/** Loads the key at `path`, creating it (0600, parent 0700) on first start. */
export function loadOrCreateHostKey(path: string): Uint8Array {
  try {
    const info = Deno.statSync(path);
    if (((info.mode ?? 0) & 0o077) !== 0) {
      throw new Error(
        `key file ${path} is readable by others (mode ${
          ((info.mode ?? 0) & 0o777).toString(8)
        }): chmod 600 it`,
      );
    }
    const key = Deno.readFileSync(path);
    if (key.length < KEY_BYTES) {
      throw new Error(
        `key file ${path} is shorter than ${KEY_BYTES} bytes: remove it to make a new one`,
      );
    }
    return key;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  Deno.writeFileSync(path, key, { mode: 0o600, createNew: true });
  return key;
}

/** A key that lives only as long as the process (interactive mode). */
export function ephemeralHostKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

/**
 * The per-host secret key behind secret fingerprints (HMAC): created once,
 * 0600 root-only, never logged. It is a trusted file (trusted_file.ts): a
 * key another user owns or could have written is refused, never used.
 *
 * @module
 */
import { AgentError } from "../agent/agent_error.ts";
import { createTrustedFile, readTrustedFile } from "./trusted_file.ts";

/** Key length in bytes. */
export const KEY_BYTES = 32;
/** Longest key accepted (a key file is 32 random bytes; anything far larger is not one). */
const MAX_KEY_BYTES = 4096;

const WHAT = { what: "key file", secret: true } as const;

/** Loads the key at `path`, creating it (0600, parent 0700) on first start. */
export function loadOrCreateHostKey(path: string): Uint8Array {
  const key = readTrustedFile(path, WHAT, MAX_KEY_BYTES + 1);
  if (key) {
    if (key.length < KEY_BYTES || key.length > MAX_KEY_BYTES) {
      throw new AgentError(
        `key file ${path} holds ${key.length} bytes, not ${KEY_BYTES} to ${MAX_KEY_BYTES}: ` +
          `remove it to make a new one (head -c ${KEY_BYTES} /dev/urandom > ${path})`,
      );
    }
    return key;
  }
  const made = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  try {
    createTrustedFile(path, made, { ...WHAT, mode: 0o600 });
  } catch (e) {
    if (!(e instanceof AgentError) || !/read-only/.test(e.message)) throw e;
    throw new AgentError(
      `${e.message}; make the key beforehand (head -c ${KEY_BYTES} /dev/urandom > ${path}; ` +
        `chmod 600 ${path}) or set key_file to a writable place such as /var/lib/bpfink/hmac.key`,
    );
  }
  return made;
}

/** The key at `path` as it is, without making one (undefined when there is none). */
export function readHostKey(path: string): Uint8Array | undefined {
  const key = readTrustedFile(path, WHAT, MAX_KEY_BYTES + 1);
  return key && key.length >= KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : undefined;
}

/** A key that lives only as long as the process (interactive mode). */
export function ephemeralHostKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

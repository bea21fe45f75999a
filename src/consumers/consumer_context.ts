/**
 * The context consumers run in: keyed fingerprints for secrets and bounded,
 * read-only access to files an include points at.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import type { ConsumerContext } from "./consumer.ts";
import { MAX_PARSE_BYTES } from "./parse_result.ts";

/** Bytes read at most from an included file: as much as the pipeline hands a consumer. */
const MAX_INCLUDE_BYTES = MAX_PARSE_BYTES;
/** Directory entries listed at most for an includedir. */
const MAX_DIR_ENTRIES = 10_000;

/** HMAC-SHA256 of `secret` under `key`, as 32 hex digits: tells "changed" without revealing anything. */
export function hmacFingerprint(key: Uint8Array, secret: string): string {
  return createHmac("sha256", key).update(secret).digest("hex").slice(0, 32);
}

/** A consumer context over the real file system. */
export function consumerContext(key: Uint8Array, warn: (m: string) => void): ConsumerContext {
  return {
    fingerprint: (secret) => hmacFingerprint(key, secret),
    readFile(path) {
      try {
        const info = Deno.statSync(path);
        if (!info.isFile || info.size > MAX_INCLUDE_BYTES) return undefined;
        return Deno.readTextFileSync(path);
      } catch {
        return undefined;
      }
    },
    readFileBytes(path) {
      try {
        const info = Deno.statSync(path);
        if (info.isDirectory) return new Uint8Array();
        if (!info.isFile) return undefined;
        if (info.size > MAX_INCLUDE_BYTES) return null;
        return Deno.readFileSync(path);
      } catch {
        return undefined;
      }
    },
    readDir(path) {
      try {
        const out: string[] = [];
        for (const e of Deno.readDirSync(path)) {
          if (out.length >= MAX_DIR_ENTRIES) break;
          out.push(e.name);
        }
        return out.sort();
      } catch {
        return [];
      }
    },
    warn,
  };
}

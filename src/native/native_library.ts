/**
 * bpfink's own native code (native/, built into kernels/build/bpfink-native.so
 * and embedded): where it was written to be loaded from, once per process.
 * BPFINK_NATIVE=off leaves it unused (everything it does has a JavaScript
 * way too); BPFINK_NATIVE=PATH loads that file instead.
 *
 * @module
 */
import { EMBEDDED_NATIVE } from "../../kernels/build/embedded.ts";
import { materialiseLibrary } from "./materialise.ts";
import { log } from "../log.ts";
import { errorMessage } from "../error_message.ts";

let cached: { path?: string } | undefined;

/**
 * The path of bpfink's native library, written from the embedded bytes
 * the first time; undefined when there is none (not built, turned off, or
 * it could not be written: said once).
 */
export function nativeLibraryPath(): string | undefined {
  if (cached) return cached.path;
  cached = {};
  const asked = Deno.env.get("BPFINK_NATIVE");
  if (asked === "off") return undefined;
  if (asked) return cached.path = asked;
  // None built; or let go of (open_kernel.ts' releaseEmbeddedAssets) before it was needed.
  if (!EMBEDDED_NATIVE?.byteLength) return undefined;
  try {
    cached.path = materialiseLibrary("bpfink-native", EMBEDDED_NATIVE);
  } catch (e) {
    log("native").warn(`${errorMessage(e)}: files are read the slower way`);
  }
  return cached.path;
}

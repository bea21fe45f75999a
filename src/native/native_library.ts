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

/**
 * A lazy opener of `symbols` from bpfink's native library: the first call opens it, later ones
 * return the same; undefined where there is none, or where it cannot be opened, said once as
 * "cannot load `what` from PATH (why): `without`" under log scope `scope`.
 */
export function lazyNative<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
  scope: string,
  what: string,
  without: string,
): () => Deno.DynamicLibrary<S> | undefined {
  let opened: { lib?: Deno.DynamicLibrary<S> } | undefined;
  return () => {
    if (opened) return opened.lib;
    opened = {};
    const path = nativeLibraryPath();
    if (!path) return undefined;
    try {
      opened.lib = Deno.dlopen(path, symbols);
    } catch (e) {
      log(scope).warn(`cannot load ${what} from ${path} (${errorMessage(e)}): ${without}`);
    }
    return opened.lib;
  };
}

/**
 * A native loop that runs on a thread of Deno's blocking pool (a nonblocking FFI call) until it
 * is told to stop, and the handle it runs over, freed once the loop has returned.
 */
export class NativeLoop {
  readonly #start: () => Promise<number>;
  readonly #free: () => void;
  #run?: Promise<number>;
  #closed = false;

  /** `start` begins the loop (called once); `free` lets go of its handle. */
  constructor(start: () => Promise<number>, free: () => void) {
    this.#start = start;
    this.#free = free;
  }

  /** Starts the loop, once; resolves with what it returned. */
  start(): Promise<number> {
    return this.#run ??= this.#start();
  }

  /** Waits for the loop to end (the caller told it to stop), then frees the handle. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#run;
    } finally {
      this.#free();
    }
  }
}

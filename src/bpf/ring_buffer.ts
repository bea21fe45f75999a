/**
 * A libbpf ring buffer polled off the main thread: `ring_buffer__poll` runs
 * as a nonblocking FFI call and each sample comes back through a thread-safe
 * callback, so the event loop stays free while the kernel is quiet.
 *
 * @module
 */
import { BpfError } from "./bpf_error.ts";
import type { BpfMap } from "./bpf_object.ts";
import { Errno } from "./errno.ts";

/** Receives a copy of one sample; the bytes are the caller's to keep. */
export type SampleHandler = (sample: Uint8Array) => void;

/** A ring buffer consumer over one BPF_MAP_TYPE_RINGBUF map. */
export class RingBuffer {
  #rb: Deno.PointerValue;
  #cb: Deno.UnsafeCallback<
    { readonly parameters: readonly ["pointer", "pointer", "usize"]; readonly result: "i32" }
  >;
  #loop?: Promise<void>;
  #stopping = false;

  /** Creates the consumer; samples reach `onSample` once `start()` runs. */
  constructor(readonly map: BpfMap, onSample: SampleHandler, readonly pollTimeoutMs = 100) {
    const lib = map.object.lib;
    this.#cb = Deno.UnsafeCallback.threadSafe(
      { parameters: ["pointer", "pointer", "usize"], result: "i32" } as const,
      (_ctx, data, size) => {
        if (data === null) return 0;
        // The pointer is valid only during this call: copy the bytes out.
        const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(data, Number(size)))
          .slice();
        try {
          onSample(bytes);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
        return 0;
      },
    );
    const rb = lib.sym.ring_buffer__new(map.fd, this.#cb.pointer, null, null);
    if (rb === null) {
      const errno = lib.errno();
      this.#cb.close();
      throw new BpfError(
        map.object.name,
        "ring_buffer__new",
        errno,
        lib.strerror(errno),
        { map: map.name },
      );
    }
    this.#rb = rb;
  }

  /** Starts polling. Resolves `done` when `close()` stops it or polling fails. */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const lib = this.map.object.lib;
    while (!this.#stopping && this.#rb !== null) {
      const rc = await lib.sym.ring_buffer__poll(this.#rb, this.pollTimeoutMs);
      if (rc < 0 && -rc !== Errno.EINTR) {
        throw new BpfError(
          this.map.object.name,
          "ring_buffer__poll",
          -rc,
          lib.strerror(rc),
          { map: this.map.name },
        );
      }
    }
  }

  /** Resolves when polling has stopped; rejects if polling failed. */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Stops polling, waits for the in-flight poll, then frees the buffer and the callback. */
  async close(): Promise<void> {
    this.#stopping = true;
    try {
      await this.#loop;
    } catch {
      // The poll error was already reported through `done`.
    }
    if (this.#rb !== null) {
      this.map.object.lib.sym.ring_buffer__free(this.#rb);
      this.#rb = null;
    }
    this.#cb.close();
  }
}

/**
 * A libbpf ring buffer read on the main thread, woken off it: `poll(2)` on
 * the ring buffer's epoll fd runs as a nonblocking FFI call with no timeout,
 * and once the ring has data `ring_buffer__consume` hands every sample to the
 * handler, synchronously. While the kernel is quiet nothing runs at all: no
 * periodic wake-up keeps Deno's blocking thread pool alive, so the threads a
 * burst of file reads started end after their idle time (a 100 ms poll
 * timeout woke them in turn forever). `close()` wakes the wait through an
 * eventfd. A flood is consumed 64 samples at a time, with the event loop's
 * other work between batches (shared/design.md measured the worst lag at
 * 13 ms during a 1M-event flood this way, 700 ms unbounded).
 *
 * @module
 */
import { BpfError } from "./bpf_error.ts";
import type { BpfMap } from "./bpf_object.ts";

const POLLIN = 0x1;
/** eventfd flags: EFD_CLOEXEC | EFD_NONBLOCK. */
const EFD_FLAGS = 0o2000000 | 0o4000;
/** Failed waits in a row (EINTR from a signal, most likely) before polling gives up. */
const MAX_FAILED_WAITS = 100;
/** Samples handed over per `ring_buffer__consume` before the event loop gets a turn. */
const BATCH = 64;

/** Receives a copy of one sample; the bytes are the caller's to keep. */
export type SampleHandler = (sample: Uint8Array) => void;

/** A ring buffer consumer over one BPF_MAP_TYPE_RINGBUF map. */
export class RingBuffer {
  #rb: Deno.PointerValue;
  #cb: Deno.UnsafeCallback<
    { readonly parameters: readonly ["pointer", "pointer", "usize"]; readonly result: "i32" }
  >;
  /** Written on close to end the wait. */
  #wakeFd: number;
  /** struct pollfd[2]: the ring buffer's epoll fd, then the eventfd. */
  #pollFds = new Uint8Array(16);
  #loop?: Promise<void>;
  #stopping = false;
  /** Samples handed over in the current consume (it stops at BATCH). */
  #inBatch = 0;
  /** A consume is handing samples over (the handler may not start another). */
  #consuming = false;

  /** Creates the consumer; samples reach `onSample` once `start()` runs. */
  constructor(readonly map: BpfMap, onSample: SampleHandler) {
    const lib = map.object.lib;
    // Called only from ring_buffer__consume, on this thread.
    this.#cb = new Deno.UnsafeCallback(
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
        // A negative return stops the consume after this sample (already taken off the ring).
        return ++this.#inBatch < BATCH ? 0 : -1;
      },
    );
    const fail = (call: string, errno: number) => {
      this.#cb.close();
      return new BpfError(map.object.name, call, errno, lib.strerror(errno), { map: map.name });
    };
    this.#wakeFd = lib.libc.eventfd(0, EFD_FLAGS);
    if (this.#wakeFd < 0) throw fail("eventfd", lib.errno());
    const rb = lib.sym.ring_buffer__new(map.fd, this.#cb.pointer, null, null);
    if (rb === null) {
      const errno = lib.errno();
      lib.libc.close(this.#wakeFd);
      throw fail("ring_buffer__new", errno);
    }
    this.#rb = rb;
    const fds = new DataView(this.#pollFds.buffer);
    fds.setInt32(0, lib.sym.ring_buffer__epoll_fd(rb), true);
    fds.setInt16(4, POLLIN, true);
    fds.setInt32(8, this.#wakeFd, true);
    fds.setInt16(12, POLLIN, true);
  }

  /** Starts polling. Resolves `done` when `close()` stops it or polling fails. */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const lib = this.map.object.lib;
    let failed = 0;
    while (!this.#stopping && this.#rb !== null) {
      const rc = await lib.libc.poll(this.#pollFds, 2n, -1);
      if (this.#stopping || this.#rb === null) return;
      if (rc < 0) {
        // errno lives on the thread that waited: a signal (EINTR) is by far the likeliest.
        if (++failed < MAX_FAILED_WAITS) continue;
        throw new BpfError(
          this.map.object.name,
          "poll",
          0,
          `failed ${failed} times in a row`,
          { map: this.map.name },
        );
      }
      failed = 0;
      const n = this.#consume();
      // Stopped at BATCH: the ring is still readable, so the next wait returns at once.
      if (n < 0 && this.#inBatch < BATCH) {
        throw new BpfError(
          this.map.object.name,
          "ring_buffer__consume",
          -n,
          lib.strerror(n),
          { map: this.map.name },
        );
      }
    }
  }

  /**
   * Hands what the ring holds now to the handler, synchronously (at most one
   * batch): a caller about to report what it read learns of every event the
   * kernel sent before. Returns the samples handed over; none while closing,
   * or when called from the handler itself.
   */
  drain(): number {
    if (this.#stopping || this.#rb === null || this.#consuming) return 0;
    this.#consume();
    return this.#inBatch;
  }

  /** One ring_buffer__consume (at most BATCH samples); its return code. */
  #consume(): number {
    this.#inBatch = 0;
    this.#consuming = true;
    try {
      return this.map.object.lib.sym.ring_buffer__consume(this.#rb);
    } finally {
      this.#consuming = false;
    }
  }

  /** Resolves when polling has stopped; rejects if polling failed. */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Stops polling, wakes and waits for the wait in flight, then frees the buffer and the callback. */
  async close(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const lib = this.map.object.lib;
    const one = new Uint8Array(8);
    one[0] = 1;
    lib.libc.write(this.#wakeFd, one, 8n);
    try {
      await this.#loop;
    } catch {
      // The poll error was already reported through `done`.
    }
    if (this.#rb !== null) {
      lib.sym.ring_buffer__free(this.#rb);
      this.#rb = null;
    }
    lib.libc.close(this.#wakeFd);
    this.#cb.close();
  }
}

/**
 * The native pump that keeps a BPF ring buffer empty off the main thread
 * (native/ring_pump.c): its records wait in a queue that takes memory only
 * while it holds them, where a ring sized for every watched file's events
 * held that memory for good (32 MiB of RSS at 100,000 files).
 *
 * @module
 */
import { lazyNative, NativeLoop } from "../native/native_library.ts";
import { log } from "../log.ts";
import type { RecordMatch } from "./ring_buffer.ts";

const SYMBOLS = {
  bpfink_ring_pump_open: {
    parameters: ["i32", "pointer", "pointer", "pointer", "u64", "u64", "i32", "i32", "i32"],
    result: "pointer",
  },
  bpfink_ring_pump_run: { parameters: ["pointer"], result: "i32", nonblocking: true },
  bpfink_ring_pump_pull: { parameters: ["pointer"], result: "u64" },
  bpfink_ring_pump_take: { parameters: ["pointer", "buffer", "u32", "u32"], result: "u32" },
  bpfink_ring_pump_stat: { parameters: ["pointer", "u32"], result: "u64" },
  bpfink_ring_pump_any: {
    parameters: ["pointer", "u32", "u32", "u32", "buffer", "u32", "u32", "u32", "u32", "u32"],
    result: "i32",
  },
  bpfink_ring_pump_close: { parameters: ["pointer"], result: "void" },
} as const;

type PumpLib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** bpfink's native library with the pump, opened once; undefined where there is none. */
const pumpLib = lazyNative(
  SYMBOLS,
  "kernel",
  "the ring buffer's pump",
  "the ring is read on the main thread and sized for every watched file",
);

/** Whether the pump can run in this process (bpfink's native library is there). */
export function pumpAvailable(): boolean {
  return pumpLib() !== undefined;
}

/** Where a ring is mapped, for the pump. */
export interface MappedRing {
  mapFd: number;
  consumer: Deno.PointerObject;
  producer: Deno.PointerObject;
  data: Deno.PointerObject;
  /** The data's size in bytes (a power of two). */
  size: number;
}

/** Bytes one take() copies at most: more than any record (a sample is at most a few KiB). */
const TAKE_BYTES = 256 * 1024;

/** One pump over one mapped ring (see native/ring_pump.c). */
export class RingPump {
  readonly #lib: PumpLib;
  readonly #h: Deno.PointerObject;
  readonly #out = new Uint8Array(TAKE_BYTES);
  readonly #view = new DataView(this.#out.buffer);
  readonly #loop: NativeLoop;

  private constructor(lib: PumpLib, h: Deno.PointerObject) {
    this.#lib = lib;
    this.#h = h;
    this.#loop = new NativeLoop(
      () => lib.symbols.bpfink_ring_pump_run(h),
      () => lib.symbols.bpfink_ring_pump_close(h),
    );
  }

  /**
   * A pump over `ring` whose queue holds at most `queueBytes`; it writes
   * `newsFd` when records wait and ends when `stopFd` is readable. With
   * `usersPausedFd`, the BPF object's `users_paused` array map, it keeps
   * users' events out of the ring while its queue holds more than an eighth
   * of its size (native/ring_pump.c). Undefined where the native library is
   * missing.
   */
  static open(
    ring: MappedRing,
    queueBytes: number,
    newsFd: number,
    stopFd: number,
    usersPausedFd = -1,
  ): RingPump | undefined {
    const lib = pumpLib();
    if (!lib) return undefined;
    const h = lib.symbols.bpfink_ring_pump_open(
      ring.mapFd,
      ring.consumer,
      ring.producer,
      ring.data,
      BigInt(ring.size),
      BigInt(queueBytes),
      newsFd,
      stopFd,
      usersPausedFd,
    );
    if (h === null) throw new Error("out of memory for the ring buffer's pump");
    if (usersPausedFd >= 0 && Number(lib.symbols.bpfink_ring_pump_stat(h, 4)) === 0) {
      log("kernel").warn(
        "cannot map the kernel object's users_paused flag: users' events may fill the ring " +
          "buffer's pump queue ahead of root's",
      );
    }
    return new RingPump(lib, h);
  }

  /** Starts emptying the ring on a thread of its own; resolves with 0 once stopped, or -errno. */
  start(): Promise<number> {
    return this.#loop.start();
  }

  /** Moves what the kernel's ring holds now into the queue, on this thread. */
  pull(): void {
    this.#lib.symbols.bpfink_ring_pump_pull(this.#h);
  }

  /**
   * Hands at most `max` queued samples to `each`, in order, each a copy of
   * its bytes; returns how many.
   */
  take(max: number, each: (sample: Uint8Array) => void): number {
    const bytes = this.#lib.symbols.bpfink_ring_pump_take(this.#h, this.#out, TAKE_BYTES, max);
    let n = 0;
    for (let at = 0; at < bytes;) {
      const len = this.#view.getUint32(at, true);
      const sample = this.#out.slice(at + 8, at + 8 + len);
      at += 8 + ((len + 7) & ~7);
      n++;
      each(sample);
    }
    return n;
  }

  /**
   * Whether a record not handed over yet may match `m` (true) or surely does
   * not (false): what the ring holds now is pulled into the queue, then the
   * queue is looked through, at most `most` records (past them, or with
   * records left in the ring, true).
   */
  any(m: RecordMatch, most: number): boolean {
    const values = BigUint64Array.from(m.u64In);
    return this.#lib.symbols.bpfink_ring_pump_any(
      this.#h,
      m.minLen,
      m.u64At[0],
      m.u64At[1],
      values,
      values.length,
      m.u32At,
      m.u32In[0],
      m.u32In[1],
      most,
    ) !== 0;
  }

  /** Bytes queued now. */
  get queued(): number {
    return Number(this.#lib.symbols.bpfink_ring_pump_stat(this.#h, 0));
  }

  /** Bytes of the kernel's ring whose records were taken from the queue (or discarded). */
  get handed(): bigint {
    return BigInt(this.#lib.symbols.bpfink_ring_pump_stat(this.#h, 1));
  }

  /** The most bytes the queue held at once. */
  get peakQueued(): number {
    return Number(this.#lib.symbols.bpfink_ring_pump_stat(this.#h, 2));
  }

  /** Times the queue passed users' share, and their events were kept out of the ring. */
  get usersPaused(): number {
    return Number(this.#lib.symbols.bpfink_ring_pump_stat(this.#h, 3));
  }

  /** Waits for the pump to end (its stop fd written by the caller), then frees it. */
  close(): Promise<void> {
    return this.#loop.close();
  }
}

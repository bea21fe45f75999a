/**
 * The native pump that reads a fanotify group's fd off the main thread
 * (native/fd_pump.c), so that the kernel's queue of its events (16,384 by
 * default, then an overflow and a rescan of every watch) is emptied while
 * the main thread is busy; the events wait in a queue that takes memory only
 * while it holds them.
 *
 * @module
 */
import { lazyNative, NativeLoop } from "../native/native_library.ts";

const SYMBOLS = {
  bpfink_fd_pump_open: { parameters: ["i32", "u64", "i32", "i32"], result: "pointer" },
  bpfink_fd_pump_run: { parameters: ["pointer"], result: "i32", nonblocking: true },
  bpfink_fd_pump_pull: { parameters: ["pointer"], result: "i64" },
  bpfink_fd_pump_take: { parameters: ["pointer", "buffer", "u32"], result: "u32" },
  bpfink_fd_pump_stat: { parameters: ["pointer", "u32"], result: "u64" },
  bpfink_fd_pump_close: { parameters: ["pointer"], result: "void" },
} as const;

type PumpLib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** bpfink's native library with the pump, opened once; undefined where there is none. */
const pumpLib = lazyNative(
  SYMBOLS,
  "fanotify",
  "fanotify's pump",
  "its events are read on the main thread",
);

/** Bytes of one read of the fd in the pump (native/fd_pump.c FD_PUMP_READ); a take holds one at least. */
export const FD_PUMP_READ = 64 * 1024;

/** One pump over one fd whose reads return whole records (see native/fd_pump.c). */
export class FdPump {
  readonly #lib: PumpLib;
  readonly #h: Deno.PointerObject;
  readonly #loop: NativeLoop;

  private constructor(lib: PumpLib, h: Deno.PointerObject) {
    this.#lib = lib;
    this.#h = h;
    this.#loop = new NativeLoop(
      () => lib.symbols.bpfink_fd_pump_run(h),
      () => lib.symbols.bpfink_fd_pump_close(h),
    );
  }

  /**
   * A pump over nonblocking `fd` whose queue holds at most `queueBytes`; it
   * writes eventfd `newsFd` when bytes wait and ends when `stopFd` is
   * readable. Undefined where the native library is missing.
   */
  static open(fd: number, queueBytes: number, newsFd: number, stopFd: number): FdPump | undefined {
    const lib = pumpLib();
    if (!lib) return undefined;
    const h = lib.symbols.bpfink_fd_pump_open(fd, BigInt(queueBytes), newsFd, stopFd);
    if (h === null) throw new Error("out of memory for fanotify's pump");
    return new FdPump(lib, h);
  }

  /** Starts reading on a thread of its own; resolves with 0 once stopped, or -errno. */
  start(): Promise<number> {
    return this.#loop.start();
  }

  /** Reads what the fd holds now into the queue, on this thread: the reads queued, or -errno. */
  pull(): number {
    return Number(this.#lib.symbols.bpfink_fd_pump_pull(this.#h));
  }

  /** Copies whole reads, back to back, into `out` (at least FD_PUMP_READ bytes); returns the bytes. */
  take(out: Uint8Array): number {
    return this.#lib.symbols.bpfink_fd_pump_take(this.#h, out, out.length);
  }

  /** Bytes queued now. */
  get queued(): number {
    return Number(this.#lib.symbols.bpfink_fd_pump_stat(this.#h, 0));
  }

  /** The most bytes the queue held at once. */
  get peakQueued(): number {
    return Number(this.#lib.symbols.bpfink_fd_pump_stat(this.#h, 1));
  }

  /** Times the queue was full and the events waited in the kernel's queue. */
  get fullWaits(): number {
    return Number(this.#lib.symbols.bpfink_fd_pump_stat(this.#h, 2));
  }

  /** The errno of the read that failed and ended the pump (0: none). */
  get failedErrno(): number {
    return Number(this.#lib.symbols.bpfink_fd_pump_stat(this.#h, 3));
  }

  /** Waits for the pump to end (its stop fd written by the caller), then frees it. */
  close(): Promise<void> {
    return this.#loop.close();
  }
}

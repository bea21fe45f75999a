/**
 * The native pump that keeps a fanotify group's kernel queue (16,384 events
 * by default, then an overflow and a rescan of every watch) from filling
 * while the main thread is busy (native/fd_pump.c): past a backlog it moves
 * the kernel's queue into one of its own, which takes memory only while it
 * holds events. The main thread reads through it: its queue first, then the
 * fd.
 *
 * @module
 */
import { lazyNative, NativeLoop } from "../native/native_library.ts";

const SYMBOLS = {
  bpfink_fd_pump_open: { parameters: ["i32", "u64", "i32", "i32"], result: "pointer" },
  bpfink_fd_pump_run: { parameters: ["pointer"], result: "i32", nonblocking: true },
  bpfink_fd_pump_read: { parameters: ["pointer", "buffer", "u32"], result: "i64" },
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

/** Bytes of one read of the fd (native/fd_pump.c FD_PUMP_READ): read()'s buffer holds one at least. */
export const FD_PUMP_READ = 64 * 1024;

/** What a pump's queue holds and has held. */
export interface PumpQueueStats {
  /** Bytes queued now. */
  bytes: number;
  /** The most bytes the queue held at once. */
  peak: number;
  /** Times the queue was full and the events waited in the kernel's queue. */
  fullWaits: number;
}

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
   * writes eventfd `newsFd` when it queued bytes and ends when `stopFd` is
   * readable. Undefined where the native library is missing.
   */
  static open(fd: number, queueBytes: number, newsFd: number, stopFd: number): FdPump | undefined {
    const lib = pumpLib();
    if (!lib) return undefined;
    const h = lib.symbols.bpfink_fd_pump_open(fd, BigInt(queueBytes), newsFd, stopFd);
    if (h === null) throw new Error("out of memory for fanotify's pump");
    return new FdPump(lib, h);
  }

  /** Starts watching the fd on a thread of its own; resolves with 0 once stopped, or -errno. */
  start(): Promise<number> {
    return this.#loop.start();
  }

  /**
   * Reads into `out` (at least FD_PUMP_READ bytes) what the queue holds, whole
   * reads back to back, or with it empty one read of the fd: the bytes (0:
   * nothing to read), or -errno when the read failed, or the pump did.
   */
  read(out: Uint8Array): number {
    return Number(this.#lib.symbols.bpfink_fd_pump_read(this.#h, out, out.length));
  }

  /** What its queue holds and has held. */
  get stats(): PumpQueueStats {
    const stat = (which: number) => Number(this.#lib.symbols.bpfink_fd_pump_stat(this.#h, which));
    return { bytes: stat(0), peak: stat(1), fullWaits: stat(2) };
  }

  /** Waits for the pump to end (its stop fd written by the caller), then frees it. */
  close(): Promise<void> {
    return this.#loop.close();
  }
}

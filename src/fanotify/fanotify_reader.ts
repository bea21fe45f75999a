/**
 * The read loop every fanotify fd shares, woken off the main thread:
 * poll(2) on the fanotify fd and an eventfd runs as a nonblocking FFI call,
 * then the ready bytes are read here. stop() wakes the wait. Also the error
 * a failed fanotify call throws.
 *
 * @module
 */
import { errnoName } from "../errno.ts";
import { lazyLibc } from "../libc.ts";

const SYMBOLS = {
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const { libc, errno } = lazyLibc(SYMBOLS);

const POLLIN = 0x1;
const EAGAIN = 11;
const EINTR = 4;
/**
 * Reads of 64 KiB (about 750 events with file handles) per wake-up, about
 * 50 ms of handling at 17 µs an event. At 16 (1 MiB) a mass change held the
 * event loop for 200–700 ms a wake-up, and the BPF ring buffer, read on the
 * same loop, overflowed: the events it dropped carried the processes.
 */
const READS_PER_WAKE = 4;
/** eventfd flags: EFD_CLOEXEC | EFD_NONBLOCK. */
const EFD_FLAGS = 0o2000000 | 0o4000;

/** A failed fanotify call, with its errno. */
export class FanotifyError extends Error {
  constructor(readonly call: string, readonly errno: number, what = "") {
    super(`${call}${what ? ` ${what}` : ""}: ${errnoName(errno)}`);
    this.name = "FanotifyError";
  }
}

/** Reads a fanotify fd (owned by the caller) until stop(). */
export class FanotifyReader {
  #wakeFd = -1;
  #loop?: Promise<void>;
  #stopped = false;
  #onBytes?: (bytes: Uint8Array) => void;
  /** The reads' buffer (each read's bytes are copied out before the next). */
  #buf?: Uint8Array;

  /**
   * `onReadError` is asked about a read(2) that failed for another reason
   * than EAGAIN or EINTR: true goes on reading, false (or none) stops with
   * the error. A group that passes fds fails a read when it cannot open
   * the event's file: that event is gone.
   */
  constructor(readonly fd: number, readonly onReadError?: (errno: number) => boolean) {}

  /** Reads until stop(): `onBytes` gets the bytes of each read (its own copy). */
  start(onBytes: (bytes: Uint8Array) => void): void {
    if (this.#loop || this.#stopped) return;
    this.#wakeFd = libc().eventfd(0, EFD_FLAGS);
    if (this.#wakeFd < 0) throw new FanotifyError("eventfd", errno());
    this.#onBytes = onBytes;
    this.#loop = this.#run(onBytes);
  }

  /**
   * Reads what the fd holds now, at once, to `onBytes` (the fd is
   * nonblocking): the events the kernel queued before this call are then
   * handled, without waiting for the loop's turn. Returns whether the queue
   * was emptied (false also before start() and after stop(), and on a read
   * error, which the loop meets and handles too).
   */
  drain(): boolean {
    if (!this.#onBytes || this.#stopped) return false;
    try {
      return this.#readQueued(this.#onBytes);
    } catch {
      return false;
    }
  }

  /**
   * At most READS_PER_WAKE reads of the fd, each one's bytes to `onBytes`
   * (its own copy): the event loop gets its turn in a flood. Returns whether
   * the queue was emptied.
   *
   * @throws {FanotifyError} on a read error `onReadError` does not get past.
   */
  #readQueued(onBytes: (bytes: Uint8Array) => void): boolean {
    const c = libc();
    const buf = this.#buf ??= new Uint8Array(64 * 1024);
    for (let i = 0; i < READS_PER_WAKE && !this.#stopped; i++) {
      const n = Number(c.read(this.fd, buf, BigInt(buf.length)));
      if (n < 0) {
        const err = errno();
        if (err === EAGAIN) return true;
        if (err === EINTR) return false;
        if (this.onReadError?.(err)) continue;
        throw new FanotifyError("read", err);
      }
      if (n === 0) return true;
      onBytes(buf.slice(0, n));
    }
    return false;
  }

  async #run(onBytes: (bytes: Uint8Array) => void): Promise<void> {
    const c = libc();
    const fds = new Uint8Array(16);
    const fv = new DataView(fds.buffer);
    fv.setInt32(0, this.fd, true);
    fv.setInt16(4, POLLIN, true);
    fv.setInt32(8, this.#wakeFd, true);
    fv.setInt16(12, POLLIN, true);
    let failed = 0;
    while (!this.#stopped) {
      const rc = await c.poll(fds, 2n, -1);
      if (this.#stopped) return;
      if (rc < 0) {
        if (++failed < 100) continue; // EINTR, most likely (errno is the waiting thread's)
        throw new FanotifyError("poll", EINTR, `failed ${failed} times in a row`);
      }
      failed = 0;
      this.#readQueued(onBytes);
    }
  }

  /** Resolves when reading stopped; rejects when it failed. */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Wakes the wait and lets reading end (the fanotify fd stays the caller's). Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const c = libc();
    if (this.#wakeFd >= 0) {
      const one = new Uint8Array(8);
      one[0] = 1;
      c.write(this.#wakeFd, one, 8n);
    }
    try {
      await this.#loop;
    } catch {
      // reported through `done`
    }
    if (this.#wakeFd >= 0) c.close(this.#wakeFd);
    this.#wakeFd = -1;
  }
}

/**
 * The read loop every fanotify fd shares, woken off the main thread:
 * poll(2) on the fanotify fd and an eventfd runs as a nonblocking FFI call,
 * then the ready bytes are read here. With a pump (fd_pump.ts), a thread of
 * its own moves the kernel's queue into one of its own past a backlog, and
 * the loop reads through it (that queue first, then the fd). stop() wakes the
 * wait. Also the error a failed fanotify call throws.
 *
 * @module
 */
import { errnoName } from "../errno.ts";
import { lazyLibc } from "../libc.ts";
import { FD_PUMP_READ, FdPump, type PumpQueueStats } from "./fd_pump.ts";

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
/**
 * A wake-up's share of the main thread (ms): past it, what was read waits
 * for the next turn of the event loop, handed over in pieces of whole
 * events (HAND_OVER_BYTES). Four reads of a mass change's events (each of
 * 100,000 files written, its MODIFY and CLOSE_WRITE muted and held) held the
 * loop for 0.7-1.4 s once the pump had queued them (bench/mass_change.ts).
 * At 8 ms a user's churn cost more CPU (20.2 s against 17.3-18.3 s in single
 * runs of bench/user_flood.ts) and its backlog grew in the pump's queue (up
 * to 21 MiB of 32 against 7-12 MiB): the ring's catch-up stops after 25 ms too.
 */
const WAKE_SLICE_MS = 25;
/** Bytes of whole events handed over at a time: about 40 events with file handles. */
const HAND_OVER_BYTES = 2048;
/** #readOne: the queue is empty; a signal cut the read (read again later); a failed read was let go. */
const EMPTY = 0;
const LATER = -1;
const SKIPPED = -2;
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
  #buf?: Uint8Array<ArrayBuffer>;
  /** Bytes read and not handed over yet (a wake-up's slice ran out): the next turn's first. */
  #pending?: Uint8Array;
  /** The pump reading the fd, while one runs (start() with `pumpBytes`). */
  #pump?: FdPump;
  /** The eventfd the pump writes when bytes wait. */
  #newsFd = -1;

  /**
   * `onReadError` is asked about a read(2) that failed for another reason
   * than EAGAIN or EINTR: true goes on reading, false (or none) stops with
   * the error. A group that passes fds fails a read when it cannot open
   * the event's file: that event is gone.
   */
  constructor(readonly fd: number, readonly onReadError?: (errno: number) => boolean) {}

  /**
   * Reads until stop(): `onBytes` gets the bytes of each read (its own copy).
   * With `pumpBytes`, a pump whose queue holds that many bytes reads the fd
   * (none where bpfink's native library is missing); a group whose events
   * carry fds is not pumped (the queue would hold them open).
   */
  start(onBytes: (bytes: Uint8Array) => void, pumpBytes = 0): void {
    if (this.#loop || this.#stopped) return;
    const c = libc();
    this.#wakeFd = c.eventfd(0, EFD_FLAGS);
    if (this.#wakeFd < 0) throw new FanotifyError("eventfd", errno());
    this.#onBytes = onBytes;
    if (pumpBytes > 0 && !this.onReadError) {
      this.#newsFd = c.eventfd(0, EFD_FLAGS);
      if (this.#newsFd < 0) throw new FanotifyError("eventfd", errno());
      this.#pump = FdPump.open(this.fd, pumpBytes, this.#newsFd, this.#wakeFd);
    }
    this.#loop = this.#pump ? this.#runPumped(this.#pump, onBytes) : this.#run(onBytes);
  }

  /** Whether a pump reads the fd. */
  get pumped(): boolean {
    return this.#pump !== undefined;
  }

  /** The pump's queue (all 0 with none). */
  get pumpQueue(): PumpQueueStats {
    return this.#pump?.stats ?? { bytes: 0, peak: 0, fullWaits: 0 };
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
      return !this.#read(this.#onBytes, Infinity);
    } catch {
      return false;
    }
  }

  /**
   * Hands over what was read and is pending, in pieces of whole events,
   * while `deadline` (performance.now()) is ahead: at least one piece.
   * Returns whether all of it went.
   */
  #handOver(onBytes: (bytes: Uint8Array) => void, deadline: number): boolean {
    let p = this.#pending;
    this.#pending = undefined;
    for (let first = true; p && p.length > 0; first = false) {
      if (!first && performance.now() >= deadline) {
        this.#pending = p;
        return false;
      }
      const cut = wholeEventsUpTo(p, HAND_OVER_BYTES);
      onBytes(p.subarray(0, cut));
      p = p.subarray(cut);
    }
    return true;
  }

  /**
   * One read into `buf`: through the pump (its queue, then the fd) when one
   * runs, else of the fd. Returns the bytes, or EMPTY, LATER (EINTR) or
   * SKIPPED (a failed read `onReadError` gets past).
   *
   * @throws {FanotifyError} when a read failed, in the pump or here.
   */
  #readOne(buf: Uint8Array<ArrayBuffer>): number {
    if (this.#pump) {
      const n = this.#pump.read(buf);
      if (n < 0) throw new FanotifyError("read", -n);
      return n;
    }
    const n = Number(libc().read(this.fd, buf, BigInt(buf.length)));
    if (n >= 0) return n;
    const err = errno();
    if (err === EAGAIN) return EMPTY;
    if (err === EINTR) return LATER;
    if (this.onReadError?.(err)) return SKIPPED;
    throw new FanotifyError("read", err);
  }

  /**
   * At most READS_PER_WAKE reads (#readOne), their bytes to `onBytes` (its
   * own copy) while the wake-up's slice (`sliceMs`) lasts: the event loop
   * gets its turn in a flood. Returns whether more is left: bytes pending,
   * or every read full (the queues not emptied).
   *
   * @throws {FanotifyError} on a read error `onReadError` does not get past.
   */
  #read(onBytes: (bytes: Uint8Array) => void, sliceMs = WAKE_SLICE_MS): boolean {
    const deadline = performance.now() + sliceMs;
    if (!this.#handOver(onBytes, deadline)) return true;
    const buf = this.#buf ??= new Uint8Array(FD_PUMP_READ);
    for (let i = 0; i < READS_PER_WAKE && !this.#stopped; i++) {
      const n = this.#readOne(buf);
      if (n === EMPTY) return false;
      if (n === LATER) return true;
      if (n === SKIPPED) continue;
      this.#pending = buf.slice(0, n);
      if (!this.#handOver(onBytes, deadline)) return true;
    }
    return true;
  }

  /** Reads the fd each time poll(2) finds it readable, until stop(). */
  async #run(onBytes: (bytes: Uint8Array) => void): Promise<void> {
    await this.#whileReady([this.fd], () => this.#read(onBytes));
    // What was read is handed over still (a group's events may hold fds to close).
    this.#handOver(onBytes, Infinity);
  }

  /**
   * #run with a pump: reads through it each time the fd is readable or the
   * pump has queued. A read that failed in the pump ends the loop with that
   * read's error, once what was queued before it was handed over.
   */
  async #runPumped(pump: FdPump, onBytes: (bytes: Uint8Array) => void): Promise<void> {
    const pumped = pump.start();
    try {
      // Bytes left in the pump's queue write the news again: the next wait returns at once.
      await this.#whileReady([this.fd, this.#newsFd], () => this.#read(onBytes));
    } catch (e) {
      // The loop failed: the pump, if it still runs, ends too (stop() wakes it again, harmlessly).
      this.#wake();
      await pumped;
      throw e;
    }
    // Stopped: the pump saw the wake too.
    await pumped;
  }

  /**
   * Runs `ready` each time poll(2) finds one of `fds` readable, until stop()
   * wakes the wait; while `ready` says it left work, again after a timer's
   * turn (setTimeout 0) instead of a wait, so that due timers run between.
   */
  async #whileReady(fds: readonly number[], ready: () => boolean): Promise<void> {
    const c = libc();
    const all = [...fds, this.#wakeFd];
    const polled = new Uint8Array(8 * all.length);
    const pv = new DataView(polled.buffer);
    all.forEach((fd, i) => {
      pv.setInt32(8 * i, fd, true);
      pv.setInt16(8 * i + 4, POLLIN, true);
    });
    let failed = 0;
    let more = false;
    while (!this.#stopped) {
      if (more) {
        // Work is left: the event loop's other work first, timers included. After a poll that
        // did not wait, due timers waited behind a backlog's wake-ups: a mass change of 100,000
        // files stalled them 0.5-0.7 s with every wake-up under 40 ms (bench/mass_change.ts).
        await new Promise((r) => setTimeout(r, 0));
        if (this.#stopped) return;
        more = ready();
        continue;
      }
      const rc = await c.poll(polled, BigInt(all.length), -1);
      if (this.#stopped) return;
      if (rc < 0) {
        if (++failed < 100) continue; // EINTR, most likely (errno is the waiting thread's)
        throw new FanotifyError("poll", EINTR, `failed ${failed} times in a row`);
      }
      failed = 0;
      more = ready();
    }
  }

  /** Writes the wake fd: the loop's wait and the pump's return. */
  #wake(): void {
    if (this.#wakeFd < 0) return;
    const one = new Uint8Array(8);
    one[0] = 1;
    libc().write(this.#wakeFd, one, 8n);
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
    this.#wake();
    try {
      await this.#loop;
    } catch {
      // reported through `done`
    }
    // The pump saw the wake too, and has ended or ends now.
    await this.#pump?.close();
    this.#pump = undefined;
    if (this.#newsFd >= 0) c.close(this.#newsFd);
    this.#newsFd = -1;
    if (this.#wakeFd >= 0) c.close(this.#wakeFd);
    this.#wakeFd = -1;
  }
}

/**
 * The length of the longest run of whole fanotify events at the start of
 * `bytes` that is at most `max` bytes long, one event at least (each starts
 * with its length, a u32); all of `bytes` where a length is not one an
 * event can have (the parser then says the record is malformed).
 */
function wholeEventsUpTo(bytes: Uint8Array, max: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = 0;
  while (end + 4 <= bytes.length) {
    const len = view.getUint32(end, true);
    if (len < 4 || end + len > bytes.length) return bytes.length;
    if (end > 0 && end + len > max) break;
    end += len;
  }
  return end > 0 ? end : bytes.length;
}

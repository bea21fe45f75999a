/**
 * A BPF ring buffer (BPF_MAP_TYPE_RINGBUF) read on the main thread, woken off
 * it: `poll(2)` on the map's fd runs as a nonblocking FFI call with no
 * timeout, and once the ring has data its records are handed to the handler,
 * synchronously. While the kernel is quiet nothing runs at all: no periodic
 * wake-up keeps Deno's blocking thread pool alive, so the threads a burst of
 * file reads started end after their idle time. `close()` wakes the wait
 * through an eventfd. A flood is consumed 64 samples at a time, with the
 * event loop's other work between batches (shared/design.md measured the
 * worst lag at 13 ms during a 1M-event flood this way, 700 ms unbounded).
 *
 * The records are read here, not by libbpf's `ring_buffer__consume`: libbpf
 * maps the data pages twice in a row so that a record which wraps around the
 * end reads as one piece, and the process's RSS then counts every page of the
 * ring twice (128 MiB for the 64 MiB ring of 100,000 watched files). Mapped
 * once, a wrapping record is copied in two pieces. The kernel's layout
 * (kernel/bpf/ringbuf.c): page 0 holds the consumer position, which only the
 * reader writes; page 1 the producer position; the data pages follow, each
 * record an 8-byte header (its length, with a busy and a discard bit, and a
 * page offset) and the sample, rounded up to 8 bytes. Positions only grow;
 * a position's offset in the data is position & (size - 1). The positions
 * and headers are read and the consumer position written with `Atomics`,
 * which are sequentially consistent: the loads the kernel's protocol needs to
 * be acquires and the store a release are at least that.
 *
 * @module
 */
import { BpfError } from "./bpf_error.ts";
import type { BpfMap } from "./bpf_object.ts";
import { RingPump } from "./ring_pump.ts";

const POLLIN = 0x1;
/** eventfd flags: EFD_CLOEXEC | EFD_NONBLOCK. */
const EFD_FLAGS = 0o2000000 | 0o4000;
/** Failed waits in a row (EINTR from a signal, most likely) before polling gives up. */
const MAX_FAILED_WAITS = 100;
/** Samples handed over per consume before the event loop gets a turn. */
const BATCH = 64;
/**
 * The most unread records unreadMatching() looks at: a 4 MiB ring's worth of the
 * agent's (about 28,000), 1-2 ms.
 */
const UNREAD_LOOK_MAX = 32768;
/** Samples per consume while the ring is an eighth full or more (about 25 ms of handling here). */
const BEHIND_BATCH = 4096;
/**
 * The most time (ms) such a consume takes, looked at every BATCH samples: a
 * mass change's records cost more each than BEHIND_BATCH was sized for, and
 * 4,096 of them held the event loop for 0.4-0.6 s (bench/mass_change.ts).
 */
const BEHIND_SLICE_MS = 25;
const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x1;
const SC_PAGESIZE = 30;
/** mmap's MAP_FAILED, (void *)-1. */
const MAP_FAILED = 0xffffffffffffffffn;
/** struct bpf_ringbuf_hdr: u32 len, u32 pg_off. */
const HDR_SIZE = 8;
/** Set in a header's length while the producer has reserved and not yet committed the record. */
const BUSY_BIT = 0x80000000;
/** Set in a header's length when the producer discarded the record. */
const DISCARD_BIT = 0x40000000;

/** Receives a copy of one sample; the bytes are the caller's to keep. */
export type SampleHandler = (sample: Uint8Array) => void;

/** A mapping made with mmap(2), unmapped on close. */
interface Mapping {
  ptr: Deno.PointerObject;
  length: number;
  buffer: ArrayBuffer;
}

/** A ring buffer consumer over one BPF_MAP_TYPE_RINGBUF map. */
export class RingBuffer {
  /** The consumer page (read-write) and the producer page with the data (read-only). */
  #maps: Mapping[] = [];
  /** The consumer position, written by this reader only. */
  #consumerPos: BigUint64Array;
  /** The producer position, written by the kernel. */
  #producerPos: BigUint64Array;
  /** The data pages, as bytes and as 32-bit words (for the headers). */
  #data: Uint8Array;
  #words: Uint32Array;
  /** A view of #data, for unreadMatching(). */
  #view?: DataView;
  /** The data's size in bytes (a power of two) less one. */
  #mask: number;
  /** Written on close to end the wait. */
  #wakeFd: number;
  /** struct pollfd[2]: the map's fd (the pump's news with a pump), then the eventfd. */
  #pollFds = new Uint8Array(16);
  #onSample: SampleHandler;
  #onConsumed?: (polled: boolean) => void;
  /** The native pump that empties the ring into its queue, when `queueBytes` asked for one. */
  #pump?: RingPump;
  /** The queue's most bytes (0: no pump). */
  #queueBytes = 0;
  /** With a pump: the eventfd it writes when records wait (reset before each take). */
  #newsFd = -1;
  #loop?: Promise<void>;
  #stopping = false;
  /** A consume is handing samples over (the handler may not start another). */
  #consuming = false;

  /**
   * Maps the ring; samples reach `onSample` once `start()` runs, and
   * `onConsumed` runs after each turn that handed one over, told whether the
   * poll loop's (true) or a drain's (false, from the caller's own code).
   * With `queueBytes`, a native pump (ring_pump.ts) empties the ring into a
   * queue of at most that many bytes on a thread of its own, so that a small
   * ring does not fill while this thread is busy; without bpfink's native
   * library the ring is read here alone. `usersPaused`: the object's
   * `users_paused` map, which the pump sets while users' events pass their
   * share of its queue (RingPump.open).
   */
  constructor(
    readonly map: BpfMap,
    onSample: SampleHandler,
    onConsumed?: (polled: boolean) => void,
    { queueBytes = 0, usersPaused }: { queueBytes?: number; usersPaused?: BpfMap } = {},
  ) {
    this.#onSample = onSample;
    this.#onConsumed = onConsumed;
    const lib = map.object.lib;
    const fail = (call: string, errno: number) => {
      this.#unmap();
      return new BpfError(map.object.name, call, errno, lib.strerror(errno), { map: map.name });
    };
    const size = map.maxEntries();
    const page = Number(lib.libc.sysconf(SC_PAGESIZE));
    this.#mask = size - 1;
    const mapping = (length: number, prot: number, offset: number): Mapping => {
      const ptr = lib.libc.mmap(null, BigInt(length), prot, MAP_SHARED, map.fd, BigInt(offset));
      if (ptr === null || Deno.UnsafePointer.value(ptr) === MAP_FAILED) {
        throw fail("mmap", lib.errno());
      }
      const m = { ptr, length, buffer: Deno.UnsafePointerView.getArrayBuffer(ptr, length) };
      this.#maps.push(m);
      return m;
    };
    const consumer = mapping(page, PROT_READ | PROT_WRITE, 0);
    const producer = mapping(page + size, PROT_READ, page);
    this.#consumerPos = new BigUint64Array(consumer.buffer, 0, 1);
    this.#producerPos = new BigUint64Array(producer.buffer, 0, 1);
    this.#data = new Uint8Array(producer.buffer, page, size);
    this.#words = new Uint32Array(producer.buffer, page, size / 4);
    this.#wakeFd = lib.libc.eventfd(0, EFD_FLAGS);
    if (this.#wakeFd < 0) throw fail("eventfd", lib.errno());
    if (queueBytes > 0) {
      this.#newsFd = lib.libc.eventfd(0, EFD_FLAGS);
      if (this.#newsFd < 0) throw fail("eventfd", lib.errno());
      try {
        this.#pump = RingPump.open(
          {
            mapFd: map.fd,
            consumer: consumer.ptr,
            producer: producer.ptr,
            data: Deno.UnsafePointer.offset(producer.ptr, page)!,
            size,
          },
          queueBytes,
          this.#newsFd,
          this.#wakeFd,
          usersPaused?.fd,
        );
      } catch (e) {
        this.#unmap();
        throw e;
      }
      if (this.#pump) this.#queueBytes = queueBytes;
      else {
        lib.libc.close(this.#newsFd);
        this.#newsFd = -1;
      }
    }
    const fds = new DataView(this.#pollFds.buffer);
    // With a pump this thread waits for its news, not for the ring.
    fds.setInt32(0, this.#pump ? this.#newsFd : map.fd, true);
    fds.setInt16(4, POLLIN, true);
    fds.setInt32(8, this.#wakeFd, true);
    fds.setInt16(12, POLLIN, true);
  }

  /** The ring's data size in bytes. */
  get bytes(): number {
    return this.#mask + 1;
  }

  /**
   * The pump's queue: its most bytes, bytes queued now, the most it held, and the times users'
   * events were kept out of the ring for passing their share of it (0s: no pump).
   */
  get queue(): { bytes: number; queued: number; peak: number; usersPaused: number } {
    const p = this.#pump;
    return {
      bytes: this.#queueBytes,
      queued: p?.queued ?? 0,
      peak: p?.peakQueued ?? 0,
      usersPaused: p?.usersPaused ?? 0,
    };
  }

  /**
   * Bytes of the ring's records handed over so far: records, their alignment
   * and headers (the consumer position, less what the pump's queue holds).
   */
  get consumed(): bigint {
    return this.#pump ? this.#pump.handed : this.#consumerPos[0];
  }

  /** Bytes the kernel has put in the ring so far (the producer position). */
  get produced(): bigint {
    return Atomics.load(this.#producerPos, 0);
  }

  /** Starts polling. Resolves `done` when `close()` stops it or polling fails. */
  start(): void {
    if (this.#loop) return;
    const pumped = this.#pump?.start().then((rc) => {
      if (rc < 0 && !this.#stopping) {
        throw new BpfError(this.map.object.name, "poll", -rc, "the ring's pump stopped", {
          map: this.map.name,
        });
      }
    });
    this.#loop = pumped ? Promise.all([this.#run(), pumped]).then(() => {}) : this.#run();
  }

  async #run(): Promise<void> {
    const lib = this.map.object.lib;
    let failed = 0;
    while (!this.#stopping) {
      const rc = await lib.libc.poll(this.#pollFds, 2n, -1);
      if (this.#stopping) return;
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
      // At a batch's end the ring may still hold records: the next wait returns at once.
      const t0 = performance.now();
      this.#consume(true);
      // A slice that ran its whole time lets the timers run before the next: a wait that
      // returns at once can otherwise be taken again and again in one turn of the event loop
      // (seen: seven slices of 64 slow records, 0.2 s, before a timer due all along fired).
      if (performance.now() - t0 >= BEHIND_SLICE_MS) await new Promise((r) => setTimeout(r, 0));
    }
  }

  /**
   * Hands what the ring holds now to the handler, synchronously (at most
   * BATCH samples): a caller about to report what it read learns of every
   * event the kernel sent before. Returns the samples handed over; none while
   * closing, or when called from the handler itself. A ring far behind is
   * left to the poll loop: a drain cannot catch up with it, and each re-read
   * ends in one.
   */
  drain(): number {
    if (this.#stopping || this.#consuming) return 0;
    // What the kernel's ring holds now goes into the queue first, behind what waits there.
    this.#pump?.pull();
    return this.#consume(false);
  }

  /**
   * Hands over at most BATCH committed records, or BEHIND_BATCH when
   * `catchUp` and the ring (or the pump's queue) is an eighth full; returns
   * how many. `onConsumed` runs after a turn that handed one over.
   */
  #consume(catchUp: boolean): number {
    this.#consuming = true;
    let n = 0;
    try {
      n = this.#pump ? this.#takeQueued(catchUp) : this.#readRing(catchUp);
    } finally {
      this.#consuming = false;
    }
    if (n > 0) this.#onConsumed?.(catchUp);
    return n;
  }

  /** Hands one sample to the handler; what it throws is rethrown later, not here. */
  #hand = (sample: Uint8Array): void => {
    try {
      this.#onSample(sample);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  };

  /** #consume's turn without a pump: the records are read from the ring's mapping here. */
  #readRing(catchUp: boolean): number {
    let n = 0;
    let cons = Number(Atomics.load(this.#consumerPos, 0));
    const prod = Number(Atomics.load(this.#producerPos, 0));
    // A ring an eighth full is falling behind: take more per turn, so a mass change is not dropped.
    const batch = catchUp && prod - cons > (this.#mask + 1) / 8 ? BEHIND_BATCH : BATCH;
    const until = batch === BEHIND_BATCH ? performance.now() + BEHIND_SLICE_MS : Infinity;
    while (cons < prod && n < batch) {
      if (n > 0 && n % BATCH === 0 && performance.now() > until) break;
      const at = cons & this.#mask;
      const len = Atomics.load(this.#words, at / 4);
      if (len & BUSY_BIT) break;
      const sampleLen = len & ~(BUSY_BIT | DISCARD_BIT);
      const sample = (len & DISCARD_BIT) === 0 ? this.#copy(at + HDR_SIZE, sampleLen) : null;
      cons += (sampleLen + HDR_SIZE + 7) & ~7;
      // The record's bytes are copied: the kernel may reuse them from here on.
      Atomics.store(this.#consumerPos, 0, BigInt(cons));
      if (sample === null) continue;
      n++;
      this.#hand(sample);
    }
    return n;
  }

  /**
   * Whether a record not handed over yet may match `m` (true) or surely
   * does not (false); nothing is handed over. Read here, the records the
   * ring holds are looked through in its mapping; with a pump, those of its
   * queue, after what the ring holds now is pulled into it (RingPump.any).
   * A record the kernel is still writing, or more than UNREAD_LOOK_MAX
   * records to look at (a look through a far larger ring would cost more than
   * the wait it spares: about 50 ns a record here), is a "may".
   */
  unreadMatching(m: RecordMatch): boolean {
    if (this.#pump) return this.#pump.any(m, UNREAD_LOOK_MAX);
    const view = this.#view ??= new DataView(
      this.#data.buffer,
      this.#data.byteOffset,
      this.#data.byteLength,
    );
    let cons = Number(Atomics.load(this.#consumerPos, 0));
    const prod = Number(Atomics.load(this.#producerPos, 0));
    for (let n = 0; cons < prod; n++) {
      if (n >= UNREAD_LOOK_MAX) return true;
      const at = cons & this.#mask;
      const len = Atomics.load(this.#words, at / 4);
      if (len & BUSY_BIT) return true;
      const sampleLen = len & ~(BUSY_BIT | DISCARD_BIT);
      if (
        (len & DISCARD_BIT) === 0 &&
        recordMatches(view, (at + HDR_SIZE) & this.#mask, sampleLen, this.#mask, m)
      ) {
        return true;
      }
      cons += (sampleLen + HDR_SIZE + 7) & ~7;
    }
    return false;
  }

  /** #consume's turn with a pump: the samples come from its queue. */
  #takeQueued(catchUp: boolean): number {
    const pump = this.#pump!;
    // A queue an eighth full is falling behind: take more per turn, as from a ring.
    if (!catchUp || pump.queued <= this.#queueBytes / 8) return pump.take(BATCH, this.#hand);
    const until = performance.now() + BEHIND_SLICE_MS;
    let n = 0;
    while (n < BEHIND_BATCH) {
      const got = pump.take(BATCH, this.#hand);
      n += got;
      if (got < BATCH || performance.now() > until) break;
    }
    return n;
  }

  /** Copies `len` bytes of data from offset `at`, wrapping around the end. */
  #copy(at: number, len: number): Uint8Array {
    const start = at & this.#mask;
    const end = start + len;
    if (end <= this.#data.length) return this.#data.slice(start, end);
    const out = new Uint8Array(len);
    const head = this.#data.length - start;
    out.set(this.#data.subarray(start), 0);
    out.set(this.#data.subarray(0, len - head), head);
    return out;
  }

  /** Resolves when polling has stopped; rejects if polling failed. */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Stops polling, wakes and waits for the wait in flight, then unmaps the ring. */
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
    // The same write ended the pump's wait: its thread is done with the mapping.
    await this.#pump?.close();
    this.#unmap();
    lib.libc.close(this.#wakeFd);
    if (this.#newsFd >= 0) lib.libc.close(this.#newsFd);
  }

  #unmap(): void {
    const libc = this.map.object.lib.libc;
    for (const m of this.#maps.splice(0)) libc.munmap(m.ptr, BigInt(m.length));
  }
}

/**
 * Records a look through the unread ones is for (RingBuffer.unreadMatching):
 * at least `minLen` bytes, with the u64 at either of `u64At` equal to one of
 * `u64In`, or the u32 at `u32At` equal to either of `u32In` (offsets into
 * the sample, each field within `minLen`).
 */
export interface RecordMatch {
  minLen: number;
  u64At: readonly [number, number];
  u64In: readonly bigint[];
  u32At: number;
  u32In: readonly [number, number];
}

/**
 * Whether the sample at `at` (`len` bytes) of the ring's data matches `m`;
 * a field's offset wraps with `& mask` (the data's size is a power of two,
 * so an aligned field never straddles the end).
 */
function recordMatches(v: DataView, at: number, len: number, mask: number, m: RecordMatch) {
  if (len < m.minLen) return false;
  const v32 = v.getUint32((at + m.u32At) & mask, true);
  if (v32 === m.u32In[0] || v32 === m.u32In[1]) return true;
  const a = v.getBigUint64((at + m.u64At[0]) & mask, true);
  const b = v.getBigUint64((at + m.u64At[1]) & mask, true);
  return m.u64In.includes(a) || m.u64In.includes(b);
}

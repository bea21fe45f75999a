/**
 * Starts the kernel writing a file's dirty pages to disk while it is still
 * being written (sync_file_range(2) with SYNC_FILE_RANGE_WRITE, on a thread
 * of Deno's pool), so that the fsync which ends the writing finds little
 * left to do. It waits for nothing and makes nothing durable: only the
 * fsync does that. A database written without the write-ahead log (a first
 * baseline, BaselineStore.beginBulk) uses it after each commit.
 *
 * @module
 */
import { lazyLibc, O_CLOEXEC, O_RDONLY } from "../libc.ts";

/**
 * sync_file_range(2): wait for pages already being written, then start writing the range's
 * dirty pages, not waiting for them. Without the wait, a page a commit dirtied again while the
 * request before was writing it is skipped ("not presently under write-out" only), and stays
 * dirty until the kernel's own flush, 30 s later (seen once in CI: 3 pages of a bulk left).
 * The wait is on the pool's thread, never the agent's.
 */
const SYNC_FILE_RANGE_WAIT_BEFORE = 1;
const SYNC_FILE_RANGE_WRITE = 2;

const { libc } = lazyLibc(
  {
    open: { parameters: ["buffer", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
    sync_file_range: {
      parameters: ["i32", "i64", "i64", "u32"],
      result: "i32",
      nonblocking: true,
    },
    __errno_location: { parameters: [], result: "pointer" },
  } as const,
);

/** A file whose dirty pages are sent to disk ahead of its fsync, one request at a time. */
export class EarlyWriteback {
  #fd: number;
  /** A request is running (on a thread of the pool). */
  #inFlight = false;
  /** Kicked while a request ran. */
  #again = false;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens `path` for it; undefined when it cannot be opened (then nothing is sent early). */
  static open(path: string): EarlyWriteback | undefined {
    const fd = libc().open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
    return fd < 0 ? undefined : new EarlyWriteback(fd);
  }

  /**
   * Starts writing what is dirty now. Never waits: while the previous
   * request runs, one more is started when it ends.
   */
  kick(): void {
    if (this.#closed) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#again = false;
    this.#inFlight = true;
    libc().sync_file_range(this.#fd, 0n, 0n, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE)
      .finally(() => {
        this.#inFlight = false;
        if (this.#closed) libc().close(this.#fd);
        else if (this.#again) this.kick();
      });
  }

  /** Closes the file, once a running request has ended. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#inFlight) libc().close(this.#fd);
  }
}

/**
 * JSON lines appended to a file, created 0600, reopened on SIGHUP so
 * logrotate can move it away. Writes are queued like every other output, so
 * a full or failing disk never blocks detection; lines that cannot be
 * written are retried, then counted as dropped. Every line is whole: a batch
 * written only in part (ENOSPC) is cut back before it is retried. A file
 * deleted (or its directory) or replaced under the output is noticed before
 * each batch and opened again; a batch that went into a deleted file is
 * written again.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { QueuedOutput, type QueueOptions } from "./queued_output.ts";
import { dirname } from "node:path";
import { assertTrusted, ensureTrustedDir } from "../store/trusted_file.ts";
import { log } from "../log.ts";

const encoder = new TextEncoder();

/** Appends one JSON line per event to `path`. */
export class FileOutput extends QueuedOutput {
  readonly name: string;
  #file?: Deno.FsFile;
  #writing = false;
  #reopen = false;

  /** `capacity`: events held while the file cannot be written (config `buffer`). */
  constructor(readonly path: string, capacity = 10_000, opts: Partial<QueueOptions> = {}) {
    super({ capacity, batchSize: 256, maxRetries: 5, backoffBaseMs: 100, ...opts });
    this.name = `file:${path}`;
  }

  protected async send(batch: ChangeEvent[]): Promise<void> {
    const bytes = encoder.encode(batch.map((e) => JSON.stringify(e) + "\n").join(""));
    if (this.#reopen) this.#closeFile();
    this.#writing = true;
    try {
      // The file was deleted (its directory too) or another file took its name: open the path
      // again, so a batch never goes into a file nobody can read.
      if (this.#file && !(await this.#stillNamed(this.#file))) this.#closeFile();
      // A trusted file: its directory is made (0700) if missing, and no link is followed.
      if (!this.#file) {
        await null; // never inside write(): file-system checks run on the sender's turn
        ensureTrustedDir(dirname(this.path), "file output");
        assertTrusted(this.path, { what: "file output" });
        const f = await Deno.open(this.path, {
          read: true,
          append: true,
          create: true,
          mode: 0o600,
        });
        try {
          await this.#cutTornLine(f);
        } catch (e) {
          f.close();
          throw e;
        }
        this.#file = f;
      }
      const f = this.#file;
      const whole = (await f.stat()).size;
      let off = 0;
      try {
        while (off < bytes.length) off += await f.write(bytes.subarray(off));
      } catch (e) {
        // A partial write (ENOSPC, EIO): take the fragment back, so the retried batch starts
        // on a line of its own. Should that fail, the next open cuts the torn line.
        if (off > 0) await f.truncate(whole).catch(() => this.#closeFile());
        throw e;
      }
      if ((await f.stat()).nlink === 0) {
        throw new Error(`${this.path} was deleted while being written; writing the batch again`);
      }
    } catch (e) {
      // Open again on the next attempt: the directory may have been recreated.
      this.#closeFile();
      throw e;
    } finally {
      this.#writing = false;
    }
  }

  /** Whether `f` is still linked and `path` still names it. */
  async #stillNamed(f: Deno.FsFile): Promise<boolean> {
    const st = await f.stat();
    if (st.nlink === 0) return false;
    try {
      const named = await Deno.lstat(this.path);
      return named.ino === st.ino && named.dev === st.dev;
    } catch {
      return false;
    }
  }

  /**
   * Cuts a torn last line (a write cut short by a crash, or a fragment that
   * could not be taken back) so the next line starts whole. Its event was not
   * counted as sent, so it is written again.
   */
  async #cutTornLine(f: Deno.FsFile): Promise<void> {
    const size = (await f.stat()).size;
    if (size === 0) return;
    const chunk = new Uint8Array(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      await f.seek(start, Deno.SeekMode.Start);
      const want = end - start;
      let got = 0;
      while (got < want) {
        const n = await f.read(chunk.subarray(got, want));
        if (n === null) break;
        got += n;
      }
      const nl = chunk.subarray(0, got).lastIndexOf(0x0a);
      if (end === size && nl === got - 1) return; // ends with a newline: nothing torn
      if (nl >= 0) {
        end = start + nl + 1;
        break;
      }
      end = start;
    }
    await f.truncate(end);
    log("output").warn(
      `${this.name}: cut a torn last line (${size - end} bytes) left by an earlier write`,
    );
  }

  /**
   * Closes the file so the next batch opens `path` again (logrotate's
   * SIGHUP). A batch being written finishes in the old file first.
   */
  reopen(): void {
    if (this.#writing) this.#reopen = true;
    else this.#closeFile();
  }

  #closeFile(): void {
    this.#reopen = false;
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
  }

  protected override release(): Promise<void> {
    this.#closeFile();
    return Promise.resolve();
  }
}

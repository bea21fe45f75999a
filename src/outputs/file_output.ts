/**
 * JSON lines appended to a file, created 0600, reopened on SIGHUP so
 * logrotate can move it away. Writes are queued like every other output, so
 * a full or failing disk never blocks detection; lines that cannot be
 * written are retried, then counted as dropped.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { QueuedOutput, type QueueOptions } from "./queued_output.ts";
import { dirname } from "node:path";
import { assertTrusted, ensureTrustedDir } from "../store/trusted_file.ts";

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
      // A trusted file: its directory is made (0700) if missing, and no link is followed.
      if (!this.#file) {
        await null; // never inside write(): file-system checks run on the sender's turn
        ensureTrustedDir(dirname(this.path), "file output");
        assertTrusted(this.path, { what: "file output" });
      }
      this.#file ??= await Deno.open(this.path, {
        append: true,
        create: true,
        mode: 0o600,
      });
      const f = this.#file;
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
    } catch (e) {
      // Open again on the next attempt: the directory may have been recreated.
      this.#closeFile();
      throw e;
    } finally {
      this.#writing = false;
    }
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

/**
 * JSON lines appended to a file (0600), reopened on SIGHUP so logrotate can
 * move it away.
 *
 * @module
 */
import type { ChangeEvent } from "../events/change_event.ts";
import { QueuedOutput } from "./queued_output.ts";

const encoder = new TextEncoder();

/** Appends one JSON line per event to `path`. */
export class FileOutput extends QueuedOutput {
  readonly name: string;
  #file?: Deno.FsFile;

  constructor(readonly path: string, capacity = 10_000) {
    super(capacity, 256);
    this.name = `file:${path}`;
  }

  #open(): Deno.FsFile {
    this.#file ??= Deno.openSync(this.path, { append: true, create: true, mode: 0o600 });
    return this.#file;
  }

  protected async send(batch: ChangeEvent[]): Promise<void> {
    const bytes = encoder.encode(batch.map((e) => JSON.stringify(e) + "\n").join(""));
    const f = this.#open();
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
  }

  /** Closes the file; the next event opens `path` again (logrotate's SIGHUP). */
  reopen(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  protected override release(): Promise<void> {
    this.reopen();
    return Promise.resolve();
  }
}

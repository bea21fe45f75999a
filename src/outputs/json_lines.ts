/**
 * One JSON object per line (ECS field names), to stdout or any writer.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import type { Output } from "./output.ts";

const encoder = new TextEncoder();

/** Writes each event as one JSON line. */
export class JsonLinesOutput implements Output {
  readonly name = "json";
  constructor(readonly out: { writeSync(p: Uint8Array): number } = Deno.stdout) {}

  write(event: ChangeEvent): void {
    const bytes = encoder.encode(JSON.stringify(event) + "\n");
    let off = 0;
    while (off < bytes.length) off += this.out.writeSync(bytes.subarray(off));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

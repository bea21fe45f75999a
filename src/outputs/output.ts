/**
 * What every output (terminal, JSON lines, syslog, HTTP, ...) implements.
 *
 * @module
 */
import type { ChangeEvent } from "../events/change_event.ts";

/** A destination for change events. `write` must never block detection. */
export interface Output {
  readonly name: string;
  write(event: ChangeEvent): void;
  close(): Promise<void>;
}

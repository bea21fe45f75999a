/**
 * Byte counts as people read them in messages.
 *
 * @module
 */

/** `bytes` in MiB, to a tenth (`12.5 MiB`). */
export function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024 * 10) / 10} MiB`;
}

/**
 * When a change happened, as opposed to when it was reported: the kernel
 * stamps each event with CLOCK_MONOTONIC at the probe, and a report made
 * seconds later (an agent stopped with SIGSTOP, a re-read queued behind a
 * flood) says so. The event's `@timestamp` is the change's time, turned to
 * wall time through the monotonic clock now (a wall clock set back or
 * forward since then moves it with it, as it does every other timestamp);
 * `event.created` is when bpfink made the report.
 *
 * @module
 */
import { lazyLibc } from "../libc.ts";
import type { FileChange } from "./file_change.ts";

const { libc } = lazyLibc(
  {
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  } as const,
);

const CLOCK_MONOTONIC = 1;

/** CLOCK_MONOTONIC now, in ns; undefined when it cannot be read. */
export function monotonicNs(): bigint | undefined {
  const ts = new BigInt64Array(2);
  if (libc().clock_gettime(CLOCK_MONOTONIC, ts) !== 0) return undefined;
  return ts[0] * 1_000_000_000n + ts[1];
}

/**
 * The wall time of `c`'s change: its kernel event's, when the BPF object
 * stamped it (fanotify's events and rescans carry none), never later than
 * `now`; else `now`.
 */
export function changeTime(c: FileChange, now: Date, mono = monotonicNs()): Date {
  const ts = c.cause?.via === "fanotify" ? 0n : c.cause?.tsNs ?? 0n;
  if (ts <= 0n || mono === undefined || ts > mono) return now;
  return new Date(now.getTime() - Number((mono - ts) / 1_000_000n));
}

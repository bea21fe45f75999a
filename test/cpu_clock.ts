/**
 * CPU time for liveness checks in tests ("this parse is linear, not
 * exponential"): unlike wall time, it does not count the time other work on
 * a loaded machine kept this process waiting.
 *
 * @module
 */
import process from "node:process";

/** Starts a clock; the returned function gives this process's CPU milliseconds (user + system) since. */
export function cpuClock(): () => number {
  const start = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1000;
  };
}

/**
 * The process's open-file limit (RLIMIT_NOFILE), raised for an agent.
 *
 * An agent's kernel object alone holds dozens of descriptors (its maps, its programs, their
 * links), and the re-reads, the hashing workers and fanotify hold more. Started under a low
 * limit (`ulimit -n 40`, `prlimit --nofile=40`), an agent whose loads ran out of descriptors
 * said the kernel refused its objects, and under a lower one Deno itself failed to start with a
 * stack trace. The agent now raises its soft limit to its hard limit (at most MAX_OPEN_FILES),
 * as daemons do, and says in one line when even that is below what it needs.
 *
 * @module
 */
import { lazyLibc } from "./libc.ts";
import { errnoName } from "./errno.ts";

const { libc, errno } = lazyLibc(
  {
    getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  } as const,
);

const RLIMIT_NOFILE = 7;
const RLIM_INFINITY = 0xffffffffffffffffn;

/** The most the soft limit is raised to (a hard limit may be "unlimited"). */
export const MAX_OPEN_FILES = 65536;

/**
 * Descriptors below which an agent is likely to fail: one watched file needed 56 here, /etc
 * (1,138 files, recursive) 64, and every re-read under way, hashing worker and client of the
 * metrics endpoint takes one more.
 */
export const MIN_OPEN_FILES = 256;

/** The soft and hard open-file limits. */
export interface OpenFileLimit {
  soft: number;
  hard: number;
}

/** The process's open-file limits now. */
export function openFileLimit(): OpenFileLimit {
  const buf = new BigUint64Array(2);
  if (libc().getrlimit(RLIMIT_NOFILE, buf) !== 0) {
    throw new Error(`getrlimit(RLIMIT_NOFILE): ${errnoName(errno())}`);
  }
  const n = (v: bigint) => v === RLIM_INFINITY ? Infinity : Number(v);
  return { soft: n(buf[0]), hard: n(buf[1]) };
}

/**
 * Raises the soft open-file limit to the hard limit, at most MAX_OPEN_FILES (never lowers it);
 * returns the limits then, and a warning (one sentence) when the soft limit is still below
 * MIN_OPEN_FILES.
 */
export function raiseOpenFileLimit(): OpenFileLimit & { warning?: string } {
  let limit = openFileLimit();
  const want = Math.min(limit.hard, MAX_OPEN_FILES);
  if (want > limit.soft) {
    // The hard limit stays as it is.
    const hard = limit.hard === Infinity ? RLIM_INFINITY : BigInt(limit.hard);
    if (libc().setrlimit(RLIMIT_NOFILE, new BigUint64Array([BigInt(want), hard])) === 0) {
      limit = openFileLimit();
    }
  }
  if (limit.soft >= MIN_OPEN_FILES) return limit;
  return {
    ...limit,
    warning: `the open-file limit is ${limit.soft} (hard limit ${limit.hard}), below the ` +
      `${MIN_OPEN_FILES} bpfink needs: loading its kernel object or reading files may fail; ` +
      `raise it (ulimit -n, or LimitNOFILE= in its systemd unit)`,
  };
}

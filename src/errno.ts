/**
 * The Linux errno values bpfink names (asm-generic/errno-base.h and
 * errno.h), and their symbolic names for messages.
 *
 * @module
 */

/** Errno values by name. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  ENOSYS: 38,
  ELOOP: 40,
  EOPNOTSUPP: 95,
  /** The kernel-internal "not supported" some BPF calls return. */
  ENOTSUPP: 524,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Errno).map(([name, code]) => [code, name]),
);

/** The symbolic name of an errno value, e.g. `EPERM`, or `errno N`. */
export function errnoName(code: number): string {
  return NAMES[code] ?? `errno ${code}`;
}

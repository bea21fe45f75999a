/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The syscalls the kprobe and fentry strategies hook, one X(name) each. Their
 * x86_64 entry points are __x64_sys_<name>(const struct pt_regs *regs)
 * (4.17+). Keep in sync with the dispatch in fim_common.bpf.h.
 *
 * FIM_FD_WRITE_SYSCALLS are the hot ones: they run on every write, sendfile
 * and splice on the machine, watched file or not. An object may give them a
 * faster fd → inode walk where the kernel allows it (see fim_fentry.bpf.c).
 */
#define FIM_FD_WRITE_SYSCALLS(X) \
	X(write)        \
	X(pwrite64)     \
	X(writev)       \
	X(pwritev)      \
	X(pwritev2)     \
	X(sendfile64)   \
	X(splice)

#define FIM_OTHER_SYSCALLS(X) \
	X(ftruncate)    \
	X(truncate)     \
	X(open)         \
	X(openat)       \
	X(openat2)      \
	X(creat)        \
	X(rename)       \
	X(renameat)     \
	X(renameat2)    \
	X(unlink)       \
	X(unlinkat)     \
	X(rmdir)        \
	X(fallocate)    \
	X(ioctl)        \
	X(io_submit)    \
	X(mprotect)     \
	X(pkey_mprotect)\
	X(copy_file_range)\
	X(fchmod)       \
	X(fchown)       \
	X(fsetxattr)    \
	X(fremovexattr) \
	X(utimensat)    \
	X(chmod)        \
	X(chown)        \
	X(lchown)       \
	X(utime)        \
	X(utimes)       \
	X(setxattr)     \
	X(lsetxattr)    \
	X(removexattr)  \
	X(lremovexattr) \
	X(fchmodat)     \
	X(fchmodat2)    \
	X(fchownat)     \
	X(futimesat)    \
	X(link)         \
	X(linkat)       \
	X(mkdir)        \
	X(mkdirat)      \
	X(symlink)      \
	X(symlinkat)    \
	X(mknod)        \
	X(mknodat)      \
	X(mount)        \
	X(umount)       \
	X(move_mount)   \
	X(mmap)

#define FIM_SYSCALLS(X)        \
	FIM_FD_WRITE_SYSCALLS(X) \
	FIM_OTHER_SYSCALLS(X)

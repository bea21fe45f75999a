/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* x86_64 syscall numbers bpfink dispatches on (arch/x86/entry/syscalls/syscall_64.tbl). */
#ifndef FIM_SYSCALLS_X86_64_H
#define FIM_SYSCALLS_X86_64_H

#define NR_write 1
#define NR_open 2
#define NR_pwrite64 18
#define NR_writev 20
#define NR_truncate 76
#define NR_ftruncate 77
#define NR_rename 82
#define NR_rmdir 84
#define NR_creat 85
#define NR_unlink 87
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_openat 257
#define NR_pwritev 296
#define NR_renameat2 316
#define NR_pwritev2 328
#define NR_openat2 437

/* open flags (include/uapi/asm-generic/fcntl.h) */
#define FIM_O_CREAT 0100
#define FIM_O_TRUNC 01000

#endif

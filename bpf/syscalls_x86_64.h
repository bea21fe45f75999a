/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* x86_64 syscall numbers bpfink dispatches on (arch/x86/entry/syscalls/syscall_64.tbl). */
#ifndef FIM_SYSCALLS_X86_64_H
#define FIM_SYSCALLS_X86_64_H

#define NR_write 1
#define NR_open 2
#define NR_mprotect 10
#define NR_ioctl 16
#define NR_pkey_mprotect 329
#define NR_io_submit 209
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
#define NR_mmap 9
#define NR_munmap 11
#define NR_msync 26
#define NR_sendfile64 40
#define NR_link 86
#define NR_chmod 90
#define NR_fchmod 91
#define NR_chown 92
#define NR_fchown 93
#define NR_lchown 94
#define NR_utime 132
#define NR_setxattr 188
#define NR_lsetxattr 189
#define NR_fsetxattr 190
#define NR_removexattr 197
#define NR_lremovexattr 198
#define NR_fremovexattr 199
#define NR_utimes 235
#define NR_fchownat 260
#define NR_futimesat 261
#define NR_linkat 265
#define NR_fchmodat 268
#define NR_splice 275
#define NR_utimensat 280
#define NR_fallocate 285
#define NR_copy_file_range 326
#define NR_fchmodat2 452
#define NR_mkdir 83
#define NR_mkdirat 258
#define NR_symlink 88
#define NR_symlinkat 266
#define NR_mknod 133
#define NR_mknodat 259
#define NR_setxattrat 463 /* 6.13+ */
#define NR_removexattrat 466 /* 6.13+ */
#define NR_mount 165
#define NR_umount2 166
#define NR_umount 166 /* umount2's entry point is __x64_sys_umount */
#define NR_move_mount 429
/* move_mount's flags (include/uapi/linux/mount.h): the target is to_dfd itself */
#define FIM_MOVE_MOUNT_T_EMPTY_PATH 0x40

/* open flags (include/uapi/asm-generic/fcntl.h) */
#define FIM_AT_FDCWD -100
#define FIM_AT_EMPTY_PATH 0x1000
#define FIM_O_CREAT 0100
#define FIM_O_TRUNC 01000

/* ioctl requests that rewrite the fd's content (include/uapi/linux/fs.h):
 * _IOW(0x94, 9, int) and _IOW(0x94, 13, struct file_clone_range), the same
 * for 32-bit callers. */
#define FIM_FICLONE 0x40049409U
#define FIM_FICLONERANGE 0x4020940dU
/* ioctl requests that change inode flags (chattr): FS_IOC_SETFLAGS is
 * _IOW('f', 2, long), FS_IOC32_SETFLAGS _IOW('f', 2, int) (32-bit callers),
 * FS_IOC_FSSETXATTR _IOW('X', 32, struct fsxattr) */
#define FIM_FS_IOC_SETFLAGS 0x40086602U
#define FIM_FS_IOC32_SETFLAGS 0x40046602U
#define FIM_FS_IOC_FSSETXATTR 0x401c5820U

/* mmap prot and flags (include/uapi/asm-generic/mman-common.h) */
#define FIM_PROT_WRITE 0x2
#define FIM_MAP_SHARED 0x1
/* vm_area_struct.vm_flags (include/linux/mm.h) */
#define FIM_VM_SHARED 0x8

#endif
